using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>A SPIFFE trust domain for tests: JWT authorities written as a SPIFFE bundle file, and JWT-SVIDs.</summary>
public sealed class TestSpiffeAuthority
{
    public TestSpiffeAuthority(string trustDomain, string bundlePath)
    {
        TrustDomain = trustDomain;
        BundlePath = bundlePath;
        Keys.Add(TestKey.CreateEs256());
        WriteBundle();
    }

    public string TrustDomain { get; }

    public string BundlePath { get; }

    public List<TestKey> Keys { get; } = [];

    public TestKey ActiveKey => Keys[0];

    /// <summary>X.509 authorities (CA certificates) published with the bundle, for X509-SVIDs.</summary>
    public List<X509Certificate2> X509Authorities { get; } = [];

    /// <summary>Writes the bundle file with the current <see cref="Keys"/> (SPIFFE Trust Domain and Bundle §4).</summary>
    public void WriteBundle()
    {
        var keys = Keys.Select(k => k.PublicJwk.Kty == "EC"
            ? (object)new { kty = "EC", crv = k.PublicJwk.Crv, x = k.PublicJwk.X, y = k.PublicJwk.Y, kid = k.KeyId, use = "jwt-svid" }
            : new { kty = "RSA", n = k.PublicJwk.N, e = k.PublicJwk.E, kid = k.KeyId, use = "jwt-svid" })
            .Concat(X509Authorities.Select(X509Entry));
        var temp = BundlePath + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(new { keys, spiffe_sequence = Environment.TickCount64, spiffe_refresh_hint = 60 }));
        File.Move(temp, BundlePath, overwrite: true);
    }

    /// <summary>An <c>x509-svid</c> JWK as SPIRE publishes it: the CA's public key and the certificate in <c>x5c</c>.</summary>
    private static object X509Entry(X509Certificate2 certificate)
    {
        var parameters = certificate.GetECDsaPublicKey()!.ExportParameters(false);
        return new
        {
            kty = "EC",
            crv = "P-256",
            x = Base64UrlEncoder.Encode(parameters.Q.X),
            y = Base64UrlEncoder.Encode(parameters.Q.Y),
            use = "x509-svid",
            x5c = new[] { Convert.ToBase64String(certificate.RawData) },
        };
    }

    /// <summary>A JWT-SVID for <c>spiffe://trust-domain/path</c>.</summary>
    public string Svid(string path, string? audience = BrokerTestHost.Issuer, TimeSpan? lifetime = null, TestKey? key = null, Action<Dictionary<string, object>>? claims = null, string? typ = "JWT", IDictionary<string, object>? header = null)
    {
        var now = DateTimeOffset.UtcNow;
        var payload = new Dictionary<string, object>
        {
            ["sub"] = $"spiffe://{TrustDomain}{path}",
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.Add(lifetime ?? TimeSpan.FromMinutes(5)).ToUnixTimeSeconds(),
        };
        if (audience is not null)
        {
            payload["aud"] = new[] { audience };
        }

        claims?.Invoke(payload);
        return (key ?? ActiveKey).Sign(payload, typ, header);
    }

    public static string Base64Url(string text) => Base64UrlEncoder.Encode(text);
}
