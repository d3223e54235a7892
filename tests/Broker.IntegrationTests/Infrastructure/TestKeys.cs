using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>Signing keys for test issuers, with their public JWK and a token writer that can also write malformed tokens.</summary>
public sealed class TestKey
{
    private TestKey(SecurityKey key, string alg, JsonWebKey publicJwk)
    {
        Key = key;
        Algorithm = alg;
        PublicJwk = publicJwk;
    }

    public SecurityKey Key { get; }

    public string Algorithm { get; }

    public JsonWebKey PublicJwk { get; }

    public string KeyId => PublicJwk.Kid;

    public static TestKey CreateEs256(string? kid = null)
    {
        var key = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256));
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(key);
        key.KeyId = kid ?? Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint());
        return new TestKey(key, SecurityAlgorithms.EcdsaSha256, new JsonWebKey { Kty = jwk.Kty, Crv = jwk.Crv, X = jwk.X, Y = jwk.Y, Kid = key.KeyId });
    }

    public static TestKey CreateRs256(string? kid = null)
    {
        var key = new RsaSecurityKey(RSA.Create(2048));
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(key);
        key.KeyId = kid ?? Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint());
        return new TestKey(key, SecurityAlgorithms.RsaSha256, new JsonWebKey { Kty = jwk.Kty, N = jwk.N, E = jwk.E, Kid = key.KeyId });
    }

    /// <summary>A signed JWT with exactly these claims and header members.</summary>
    public string Sign(IDictionary<string, object> claims, string? typ = "JWT", IDictionary<string, object>? header = null)
    {
        var extraHeader = new Dictionary<string, object>(header ?? new Dictionary<string, object>());
        if (typ is not null)
        {
            extraHeader["typ"] = typ;
        }

        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = new SigningCredentials(Key, Algorithm),
            AdditionalHeaderClaims = extraHeader,
        });
    }
}
