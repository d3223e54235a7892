using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Jose.DPoP;
using Jose;
using Microsoft.Extensions.Time.Testing;
using static Broker.Testing.DPoP.DPoPTestProofs;

namespace Broker.Jose.Tests.DPoP;

public sealed class DPoPProofBuilderTests
{
    private readonly FakeTimeProvider _time = new(Now);

    [Fact]
    public void Thumbprint_Rfc7638Section31Example_IsThePublishedValue()
    {
        // Arrange: the RSA key of RFC 7638 §3.1 (with its kid and alg, which are not hashed), read as a proof's jwk.
        const string header = """
            {"typ":"dpop+jwt","alg":"RS256","jwk":{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}}
            """;

        // Act
        var error = DPoPJwk.TryRead(Encoding.UTF8.GetBytes(header), "RS256", 4096, out var key);

        // Assert
        Assert.Equal(DPoPProofError.None, error);
        Assert.Equal("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", DPoPJwk.Thumbprint(key!));
    }

    [Fact]
    public void Thumbprint_Rfc9449EcKey_IsFigure9sJkt()
    {
        // Arrange: the EC key of RFC 9449's examples (Figure 4), members in the RFC's order.
        const string header = """
            {"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}}
            """;

        // Act
        var error = DPoPJwk.TryRead(Encoding.UTF8.GetBytes(header), "ES256", 4096, out var key);

        // Assert
        Assert.Equal(DPoPProofError.None, error);
        Assert.Equal("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", DPoPJwk.Thumbprint(key!));
    }

    [Fact]
    public void CreateProof_Es256_HasTheHeaderRfc9449Requires_AndNoPrivateMember()
    {
        // Arrange
        var builder = new DPoPProofBuilder(P256, _time);

        // Act
        var proof = builder.CreateProof("POST", new Uri(TokenUri));

        // Assert
        using var header = JsonDocument.Parse(Base64UrlDecode(proof.Split('.')[0]));
        Assert.Equal(["typ", "alg", "jwk"], header.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("dpop+jwt", header.RootElement.GetProperty("typ").GetString());
        Assert.Equal("ES256", header.RootElement.GetProperty("alg").GetString());
        var jwk = header.RootElement.GetProperty("jwk");
        Assert.Equal(["kty", "crv", "x", "y"], jwk.EnumerateObject().Select(p => p.Name));
        Assert.Equal("P-256", jwk.GetProperty("crv").GetString());
        Assert.Equal("ES256", builder.Algorithm);
        Assert.Null(builder.PublicKey.D);
    }

    [Fact]
    public void CreateProof_Rsa_HasAPublicJwkOnly()
    {
        // Arrange
        var builder = new DPoPProofBuilder(Rsa2048, timeProvider: _time);

        // Act
        var proof = builder.CreateProof("POST", new Uri(TokenUri));

        // Assert
        using var header = JsonDocument.Parse(Base64UrlDecode(proof.Split('.')[0]));
        Assert.Equal("PS256", header.RootElement.GetProperty("alg").GetString());
        Assert.Equal(["kty", "n", "e"], header.RootElement.GetProperty("jwk").EnumerateObject().Select(p => p.Name));
        Assert.Equal("AQAB", header.RootElement.GetProperty("jwk").GetProperty("e").GetString());
    }

    [Fact]
    public void CreateProof_Claims_AreTheRequestsWithoutQueryAndFragment()
    {
        // Arrange: the access token of RFC 9449 Figure 6, whose ath is in Figure 14.
        var builder = new DPoPProofBuilder(P256, _time);

        // Act
        var proof = builder.CreateProof("GET", new Uri("https://resource.example.org/protectedresource?x=1#top"), "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", "n0nce");

        // Assert
        using var claims = JsonDocument.Parse(Base64UrlDecode(proof.Split('.')[1]));
        var root = claims.RootElement;
        Assert.Equal("GET", root.GetProperty("htm").GetString());
        Assert.Equal("https://resource.example.org/protectedresource", root.GetProperty("htu").GetString());
        Assert.Equal(Now.ToUnixTimeSeconds(), root.GetProperty("iat").GetInt64());
        Assert.Equal("fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo", root.GetProperty("ath").GetString());
        Assert.Equal("n0nce", root.GetProperty("nonce").GetString());
        Assert.Equal(22, root.GetProperty("jti").GetString()!.Length);
    }

    [Fact]
    public void CreateProof_WithoutTokenOrNonce_HasNeitherClaim()
    {
        // Act
        var proof = new DPoPProofBuilder(P256, _time).CreateProof("POST", new Uri(TokenUri));

        // Assert
        using var claims = JsonDocument.Parse(Base64UrlDecode(proof.Split('.')[1]));
        Assert.Equal(["jti", "htm", "htu", "iat"], claims.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void CreateProof_ManyProofs_HaveDistinctJtis()
    {
        // Arrange
        var builder = new DPoPProofBuilder(P256, _time);

        // Act
        var jtis = Enumerable.Range(0, 200)
            .Select(_ => JsonDocument.Parse(Base64UrlDecode(builder.CreateProof("POST", new Uri(TokenUri)).Split('.')[1])).RootElement.GetProperty("jti").GetString())
            .ToHashSet();

        // Assert
        Assert.Equal(200, jtis.Count);
    }

    [Theory]
    [InlineData("ES256")]
    [InlineData("ES384")]
    [InlineData("ES512")]
    [InlineData("PS256")]
    [InlineData("RS256")]
    public void CreateProof_VerifiesWithAnIndependentJoseLibrary_UnderItsOwnJwk(string alg)
    {
        // Arrange
        var builder = alg switch
        {
            "ES256" => new DPoPProofBuilder(P256, _time),
            "ES384" => new DPoPProofBuilder(P384, _time),
            "ES512" => new DPoPProofBuilder(P521, _time),
            _ => new DPoPProofBuilder(Rsa2048, alg, _time),
        };
        var proof = builder.CreateProof("POST", new Uri(TokenUri));

        // Act: jose-jwt reads the key from the proof's header and verifies with it.
        var jwkJson = JsonDocument.Parse(Base64UrlDecode(proof.Split('.')[0])).RootElement.GetProperty("jwk").GetRawText();
        var jwk = Jwk.FromJson(jwkJson, JWT.DefaultSettings.JsonMapper);
        var payload = JWT.Decode<Dictionary<string, object>>(proof, jwk, Enum.Parse<JwsAlgorithm>(alg));

        // Assert
        Assert.Equal(TokenUri, payload["htu"]);
        Assert.Equal(alg, builder.Algorithm);
    }

    [Fact]
    public void Constructor_UnsupportedKeyOrAlgorithm_Throws()
    {
        using var brainpool = ECDsa.Create(ECCurve.NamedCurves.brainpoolP256r1);
        using var small = RSA.Create(1024);
        Assert.Throws<ArgumentException>(() => new DPoPProofBuilder(brainpool));
        Assert.Throws<ArgumentException>(() => new DPoPProofBuilder(small));
        Assert.Throws<ArgumentException>(() => new DPoPProofBuilder(Rsa2048, "ES256"));
        Assert.Throws<ArgumentException>(() => new DPoPProofBuilder(Rsa2048, "HS256"));
    }

    [Theory]
    [InlineData("ftp://broker.example/token")]
    [InlineData("file:///etc/passwd")]
    public void CreateProof_NotAnHttpUri_Throws(string uri)
    {
        Assert.Throws<ArgumentException>(() => new DPoPProofBuilder(P256, _time).CreateProof("POST", new Uri(uri)));
        Assert.Throws<ArgumentException>(() => new DPoPProofBuilder(P256, _time).CreateProof("POST", new Uri("/token", UriKind.Relative)));
        Assert.Throws<ArgumentException>(() => new DPoPProofBuilder(P256, _time).CreateProof("", new Uri(TokenUri)));
    }

    private static byte[] Base64UrlDecode(string segment) => System.Buffers.Text.Base64Url.DecodeFromChars(segment);
}
