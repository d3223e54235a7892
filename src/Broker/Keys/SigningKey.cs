using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Keys;

/// <summary>An ES256 signing key with its RFC 7638 thumbprint as <c>kid</c>.</summary>
internal sealed class SigningKey
{
    private SigningKey(ECDsaSecurityKey key, JsonWebKey publicJwk)
    {
        Key = key;
        PublicJwk = publicJwk;
        KeyId = publicJwk.Kid;
        Credentials = new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256);
    }

    /// <summary>The RFC 7638 JWK thumbprint, base64url: stable for the key, whatever the replica.</summary>
    public string KeyId { get; }

    /// <summary>The private key, for signing.</summary>
    public ECDsaSecurityKey Key { get; }

    /// <summary>ES256 credentials over <see cref="Key"/>.</summary>
    public SigningCredentials Credentials { get; }

    /// <summary>The public half as published in the JWKS.</summary>
    public JsonWebKey PublicJwk { get; }

    /// <summary>Wraps a P-256 private key. Other curves are refused: the broker signs ES256 only.</summary>
    public static SigningKey FromECDsa(ECDsa ecdsa)
    {
        ArgumentNullException.ThrowIfNull(ecdsa);
        var parameters = ecdsa.ExportParameters(includePrivateParameters: false);
        if (parameters.Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
        {
            throw new InvalidOperationException("Signing keys must be EC P-256 (ES256).");
        }

        var publicJwk = new JsonWebKey
        {
            Kty = JsonWebAlgorithmsKeyTypes.EllipticCurve,
            Crv = JsonWebKeyECTypes.P256,
            X = Base64UrlEncoder.Encode(parameters.Q.X),
            Y = Base64UrlEncoder.Encode(parameters.Q.Y),
            Use = JsonWebKeyUseNames.Sig,
            Alg = SecurityAlgorithms.EcdsaSha256,
        };
        publicJwk.Kid = Base64UrlEncoder.Encode(publicJwk.ComputeJwkThumbprint());

        var key = new ECDsaSecurityKey(ecdsa) { KeyId = publicJwk.Kid };
        return new SigningKey(key, publicJwk);
    }

    /// <summary>A fresh P-256 key that lives only in this process.</summary>
    public static SigningKey Generate() => FromECDsa(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Loads a PEM-encoded EC private key (SEC1 or PKCS#8).</summary>
    public static SigningKey FromPemFile(string path)
    {
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(File.ReadAllText(path));
            return FromECDsa(ecdsa);
        }
        catch
        {
            ecdsa.Dispose();
            throw;
        }
    }
}
