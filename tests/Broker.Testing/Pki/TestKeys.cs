// Broker.Spiffe — SPIFFE for .NET.

using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Testing.Pki;

/// <summary>Real keys, JWKs and hand-built compact JWS for tests; independent of the code under test.</summary>
public static class TestKeys
{
    public static JsonWebKey ToJwk(ECDsa key, string kid)
    {
        var p = key.ExportParameters(includePrivateParameters: false);
        return new JsonWebKey
        {
            Kty = JsonWebAlgorithmsKeyTypes.EllipticCurve,
            Kid = kid,
            Crv = key.KeySize switch { 256 => "P-256", 384 => "P-384", _ => "P-521" },
            X = Base64Url.EncodeToString(p.Q.X),
            Y = Base64Url.EncodeToString(p.Q.Y),
        };
    }

    public static JsonWebKey ToJwk(RSA key, string kid)
    {
        var p = key.ExportParameters(includePrivateParameters: false);
        return new JsonWebKey
        {
            Kty = JsonWebAlgorithmsKeyTypes.RSA,
            Kid = kid,
            N = Base64Url.EncodeToString(p.Modulus),
            E = Base64Url.EncodeToString(p.Exponent),
        };
    }

    /// <summary>Serialises a public JWK as JSON, optionally with extra members.</summary>
    public static string JwkJson(JsonWebKey key, string? use = null)
    {
        var d = new Dictionary<string, object?> { ["kty"] = key.Kty };
        if (use is not null)
        {
            d["use"] = use;
        }

        if (!string.IsNullOrEmpty(key.Kid))
        {
            d["kid"] = key.Kid;
        }

        if (key.Kty == "EC")
        {
            d["crv"] = key.Crv;
            d["x"] = key.X;
            d["y"] = key.Y;
        }
        else
        {
            d["n"] = key.N;
            d["e"] = key.E;
        }

        return JsonSerializer.Serialize(d);
    }

    /// <summary>A plain JWKS, as SPIRE's FetchJWTBundles sends it: keys with kid, no use.</summary>
    public static string JwksJson(IEnumerable<JsonWebKey> keys) =>
        "{\"keys\":[" + string.Join(',', keys.Select(k => JwkJson(k))) + "]}";

    /// <summary>Signs a compact JWS by hand: header and payload are serialised as given.</summary>
    public static string Sign(object header, object payload, AsymmetricAlgorithm? key, string alg)
    {
        var h = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(header));
        var p = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(payload));
        var input = Encoding.ASCII.GetBytes(h + "." + p);
        byte[] sig = (key, alg) switch
        {
            (null, _) => [],
            (ECDsa ec, _) => ec.SignData(input, HashFor(alg)),
            (RSA rsa, _) when alg.StartsWith("PS", StringComparison.Ordinal) => rsa.SignData(input, HashFor(alg), RSASignaturePadding.Pss),
            (RSA rsa, _) => rsa.SignData(input, HashFor(alg), RSASignaturePadding.Pkcs1),
            _ => throw new ArgumentException("unsupported key", nameof(key)),
        };
        return h + "." + p + "." + Base64Url.EncodeToString(sig);
    }

    /// <summary>Signs header and payload JSON exactly as written (duplicates, trailing bytes and all) with ES256.</summary>
    public static string SignRaw(string headerJson, string payloadJson, ECDsa key)
    {
        var h = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(headerJson));
        var p = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payloadJson));
        return h + "." + p + "." + Base64Url.EncodeToString(key.SignData(Encoding.ASCII.GetBytes(h + "." + p), HashAlgorithmName.SHA256));
    }

    public static string SignHmac(object header, object payload, byte[] secret)
    {
        var h = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(header));
        var p = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(payload));
        var sig = HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(h + "." + p));
        return h + "." + p + "." + Base64Url.EncodeToString(sig);
    }

    private static HashAlgorithmName HashFor(string alg) => alg[2..] switch
    {
        "256" => HashAlgorithmName.SHA256,
        "384" => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };

    /// <summary>A self-signed CA certificate (cA, keyCertSign|cRLSign) with the trust domain's SPIFFE ID as URI SAN.</summary>
    public static X509Certificate2 CreateCa(string trustDomain, ECDsa? key = null)
    {
        using var owned = key is null ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : null;
        var k = key ?? owned!;
        var req = new CertificateRequest("CN=" + trustDomain, k, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri("spiffe://" + trustDomain));
        req.CertificateExtensions.Add(san.Build());
        var now = DateTimeOffset.UtcNow;
        using var cert = req.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        return X509CertificateLoader.LoadCertificate(cert.RawData);
    }
}
