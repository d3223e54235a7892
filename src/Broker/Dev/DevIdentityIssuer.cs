using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Broker.Spiffe;
using Broker.Spiffe.Bundles;
using Broker.Tokens;
using Broker.Trust;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Dev;

/// <summary>
/// The dev identity source: a throw-away trust domain (<c>dev.localhost</c>) whose JWT-SVIDs are
/// handed out on loopback, so a newcomer can exchange a token without a SPIRE agent. It exists
/// only under <c>--dev</c>; policy refers to it as <c>bundle: dev</c>.
/// </summary>
internal sealed class DevIdentityIssuer : IDevBundleSource
{
    /// <summary>The dev trust domain.</summary>
    public static readonly TrustDomain TrustDomain = TrustDomain.Parse("dev.localhost");

    private readonly JsonWebTokenHandler _handler = new();
    private readonly SigningCredentials _credentials;
    private readonly JwtBundle _bundle;
    private readonly string _audience;
    private readonly TimeProvider _timeProvider;

    public DevIdentityIssuer(IOptions<BrokerOptions> options, TimeProvider timeProvider)
    {
        var key = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256));
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(key);
        key.KeyId = jwk.Kid = Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint());
        var publicJwk = new JsonWebKey { Kty = jwk.Kty, Crv = jwk.Crv, X = jwk.X, Y = jwk.Y, Kid = jwk.Kid };
        _credentials = new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256);
        _bundle = new JwtBundle(TrustDomain, [new KeyValuePair<string, JsonWebKey>(publicJwk.Kid, publicJwk)]);
        _audience = options.Value.Issuer!;
        _timeProvider = timeProvider;
    }

    /// <summary>The dev admin, a global admin under <c>--dev</c>.</summary>
    public static readonly SpiffeId Admin = SpiffeId.Parse("spiffe://dev.localhost/admin");

    /// <summary>Issues a JWT-SVID for <paramref name="id"/> (five minutes by default), audience = this broker.</summary>
    public string Issue(SpiffeId id, TimeSpan? lifetime = null)
    {
        var now = _timeProvider.GetUtcNow().UtcDateTime;
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Subject = null,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = id.ToString(),
                [JwtRegisteredClaimNames.Aud] = new[] { _audience },
            },
            IssuedAt = now,
            NotBefore = now,
            Expires = now.Add(lifetime ?? TimeSpan.FromMinutes(5)),
            SigningCredentials = _credentials,
            TokenType = "JWT",
        });
    }

    public bool TryGetJwtBundle(TrustDomain trustDomain, [NotNullWhen(true)] out JwtBundle? bundle)
    {
        bundle = trustDomain == TrustDomain ? _bundle : null;
        return bundle is not null;
    }
}
