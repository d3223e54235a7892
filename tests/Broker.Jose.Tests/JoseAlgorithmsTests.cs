using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Jose.Tests;

public sealed class JoseAlgorithmsTests
{
    private static readonly ECDsa P256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private static readonly ECDsa P384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private static readonly ECDsa P521 = ECDsa.Create(ECCurve.NamedCurves.nistP521);
    private static readonly RSA Rsa2048 = RSA.Create(2048);
    private static readonly RSA Rsa1024 = RSA.Create(1024);

    private static JsonWebKey Jwk(AsymmetricAlgorithm key, string? alg = null)
    {
        var jwk = key switch
        {
            ECDsa ec => JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ec)),
            RSA rsa => JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(false))),
            _ => throw new ArgumentException("unsupported key type", nameof(key)),
        };
        jwk.Alg = alg;
        return jwk;
    }

    [Theory]
    [InlineData("P-256", "ES256", true)]
    [InlineData("P-256", "ES384", false)]
    [InlineData("P-256", "ES512", false)]
    [InlineData("P-384", "ES384", true)]
    [InlineData("P-384", "ES256", false)]
    [InlineData("P-521", "ES512", true)]
    [InlineData("P-521", "ES384", false)]
    [InlineData("P-256", "RS256", false)]
    [InlineData("RSA-2048", "RS256", true)]
    [InlineData("RSA-2048", "RS384", true)]
    [InlineData("RSA-2048", "RS512", true)]
    [InlineData("RSA-2048", "PS256", true)]
    [InlineData("RSA-2048", "PS512", true)]
    [InlineData("RSA-2048", "ES256", false)]
    [InlineData("RSA-1024", "RS256", false)]
    [InlineData("P-256", "HS256", false)]
    [InlineData("RSA-2048", "none", false)]
    public void KeyFits_CurveHashAndSize(string keyName, string alg, bool fits)
    {
        AsymmetricAlgorithm key = keyName switch
        {
            "P-256" => P256,
            "P-384" => P384,
            "P-521" => P521,
            "RSA-2048" => Rsa2048,
            _ => Rsa1024,
        };

        // The same answer for a JWK and for each .NET key type that wraps the key.
        Assert.Equal(fits, JoseAlgorithms.KeyFits(Jwk(key), alg));
        SecurityKey native = key is ECDsa ec ? new ECDsaSecurityKey(ec) : new RsaSecurityKey((RSA)key);
        Assert.Equal(fits, JoseAlgorithms.KeyFits(native, alg));
        Assert.Equal(fits, JoseAlgorithms.KeyFits(new X509SecurityKey(SelfSigned(key)), alg));
    }

    [Fact]
    public void KeyFits_AJwkPinnedToAnAlgorithm_FitsOnlyThatOne()
    {
        Assert.True(JoseAlgorithms.KeyFits(Jwk(Rsa2048, "PS256"), "PS256"));
        Assert.False(JoseAlgorithms.KeyFits(Jwk(Rsa2048, "PS256"), "RS256"));
        Assert.False(JoseAlgorithms.KeyFits(Jwk(P256, "ES384"), "ES256"));
    }

    [Fact]
    public void KeyFits_OtherKeys_DoNotFit()
    {
        Assert.False(JoseAlgorithms.KeyFits(new SymmetricSecurityKey(new byte[32]), "ES256"));
        Assert.False(JoseAlgorithms.KeyFits(new JsonWebKey { Kty = "oct", K = "AAAA" }, "ES256"));
        Assert.False(JoseAlgorithms.KeyFits(new JsonWebKey { Kty = "RSA", E = "AQAB" }, "RS256"));
        Assert.False(JoseAlgorithms.KeyFits(new JsonWebKey { Kty = "EC", Crv = "secp256k1", X = "a", Y = "b" }, "ES256"));
        using var k1 = ECDsa.Create(ECCurve.CreateFromFriendlyName("secp256k1"));
        Assert.False(JoseAlgorithms.KeyFits(new ECDsaSecurityKey(k1), "ES256"));
    }

    [Fact]
    public void RsaModulusBits_CountsBitsNotOctets_AndIgnoresLeadingZeros()
    {
        var n = Jwk(Rsa2048).N;
        Assert.Equal(2048, JoseAlgorithms.RsaModulusBits(n));

        // A 2047-bit modulus written with a leading zero octet must not pass for 2048 or more.
        var modulus = new byte[256];
        modulus[1] = 0x7F;
        Assert.Equal(2039, JoseAlgorithms.RsaModulusBits(Base64UrlEncoder.Encode(modulus)));
        Assert.Equal(0, JoseAlgorithms.RsaModulusBits("AA=="));
        Assert.Equal(0, JoseAlgorithms.RsaModulusBits(null));
    }

    [Fact]
    public void Allowed_IsAsymmetricOnly()
    {
        Assert.Equal(9, JoseAlgorithms.Allowed.Count);
        Assert.DoesNotContain(JoseAlgorithms.Allowed, a => a.StartsWith("HS", StringComparison.Ordinal) || a == "none");
        Assert.True(JoseAlgorithms.IsAllowed("PS384"));
        Assert.False(JoseAlgorithms.IsAllowed("ps384"));
        Assert.False(JoseAlgorithms.IsAllowed(null));
    }

    private static X509Certificate2 SelfSigned(AsymmetricAlgorithm key)
    {
        var request = key is ECDsa ec
            ? new CertificateRequest("CN=k", ec, HashAlgorithmName.SHA256)
            : new CertificateRequest("CN=k", (RSA)key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadCertificate(certificate.RawData);
    }
}
