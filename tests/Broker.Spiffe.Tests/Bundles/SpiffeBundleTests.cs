// Broker.Spiffe — SPIFFE for .NET.

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Broker.Spiffe.Bundles;
using Broker.Testing.Pki;

namespace Broker.Spiffe.Tests.Bundles;

public sealed class SpiffeBundleTests
{
    private static readonly TrustDomain Td = TrustDomain.Parse("example.org");

    private static string X509Entry(X509Certificate2 cert)
    {
        using var key = cert.GetECDsaPublicKey()!;
        var jwk = JsonSerializer.Deserialize<Dictionary<string, object>>(TestKeys.JwkJson(TestKeys.ToJwk(key, "")))!;
        jwk["use"] = "x509-svid";
        jwk["x5c"] = new[] { Convert.ToBase64String(cert.RawData) };
        return JsonSerializer.Serialize(jwk);
    }

    [Fact]
    public void Parse_FullBundle_ReadsAuthoritiesHintAndSequence()
    {
        // Arrange
        using var ca = TestKeys.CreateCa("example.org");
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var json = $$"""
            {"keys":[{{X509Entry(ca)}},{{TestKeys.JwkJson(TestKeys.ToJwk(ec, "jwt-1"), use: "jwt-svid")}}],
             "spiffe_refresh_hint":300,"spiffe_sequence":9007199254740993,"unknown_member":{"x":1} }
            """;

        // Act
        var bundle = SpiffeBundle.Parse(Td, Encoding.UTF8.GetBytes(json));

        // Assert
        Assert.Equal(Td, bundle.TrustDomain);
        Assert.Equal(ca.RawData, Assert.Single(bundle.X509Bundle.Authorities).RawData);
        Assert.True(bundle.JwtBundle.TryGetAuthority("jwt-1", out _));
        Assert.Equal(TimeSpan.FromMinutes(5), bundle.RefreshHint);
        Assert.Equal(9007199254740993L, bundle.SequenceNumber);
    }

    [Fact]
    public void ToJson_RoundTrips()
    {
        // Arrange
        using var ca = TestKeys.CreateCa("example.org");
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var rsa = RSA.Create(2048);
        var original = new SpiffeBundle(
            Td,
            [ca],
            [new("e", TestKeys.ToJwk(ec, "e")), new("r", TestKeys.ToJwk(rsa, "r"))],
            TimeSpan.FromSeconds(60),
            42);

        // Act
        var json = original.ToJson();
        var parsed = SpiffeBundle.Parse(Td, Encoding.UTF8.GetBytes(json));

        // Assert
        Assert.Equal(ca.RawData, Assert.Single(parsed.X509Bundle.Authorities).RawData);
        Assert.Equal(["e", "r"], parsed.JwtBundle.Authorities.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(original.JwtBundle.Authorities["e"].X, parsed.JwtBundle.Authorities["e"].X);
        Assert.Equal(original.JwtBundle.Authorities["r"].N, parsed.JwtBundle.Authorities["r"].N);
        Assert.Equal(TimeSpan.FromSeconds(60), parsed.RefreshHint);
        Assert.Equal(42, parsed.SequenceNumber);
        using var doc = JsonDocument.Parse(json);
        Assert.All(doc.RootElement.GetProperty("keys").EnumerateArray(), k => Assert.True(k.TryGetProperty("kty", out _)));
    }

    [Fact]
    public void Parse_UnknownUseAndKty_Ignored_EmptyX5cSkipped()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var jwk = TestKeys.JwkJson(TestKeys.ToJwk(ec, "w"), use: "wit-svid");
        var json = $$"""{"keys":[{{jwk}},{"use":"jwt-svid","kty":"oct","kid":"h","k":"AAAA"},{"use":"x509-svid","kty":"EC","crv":"P-256","x":"{{TestKeys.ToJwk(ec, "").X}}","y":"{{TestKeys.ToJwk(ec, "").Y}}","x5c":[]}]}""";

        var bundle = SpiffeBundle.Parse(Td, Encoding.UTF8.GetBytes(json));

        Assert.Empty(bundle.X509Bundle.Authorities);
        Assert.Empty(bundle.JwtBundle.Authorities);
        Assert.Null(bundle.RefreshHint);
        Assert.Null(bundle.SequenceNumber);
    }

    public static TheoryData<string> MalformedBundles()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var jwk = TestKeys.ToJwk(ec, "k");
        var noUse = TestKeys.JwkJson(jwk);
        var noKid = TestKeys.JwkJson(TestKeys.ToJwk(ec, ""), use: "jwt-svid");
        var good = TestKeys.JwkJson(jwk, use: "jwt-svid");
        return new TheoryData<string>
        {
            "",
            "null",
            """{"spiffe_sequence":1}""",
            """{"keys":null}""",
            $$"""{"keys":[{{noUse}}]}""",
            $$"""{"keys":[{{noKid}}]}""",
            $$"""{"keys":[{{good}},{{good}}]}""",
            $$"""{"keys":[{{good}}],"spiffe_sequence":-1}""",
            $$"""{"keys":[{{good}}],"spiffe_sequence":"1"}""",
            $$"""{"keys":[{{good}}],"spiffe_sequence":1.5}""",
            $$"""{"keys":[{{good}}],"spiffe_refresh_hint":-5}""",
            $$"""{"keys":[{{good}}],"spiffe_refresh_hint":99999999999999999999999}""",
            $$"""{"keys":[{"use":"x509-svid","kty":"EC","crv":"P-256","x":"{{jwk.X}}","y":"{{jwk.Y}}","x5c":["bm90IGEgY2VydA=="]}]}""",
            $$"""{"keys":[{"use":"x509-svid","kty":"EC","crv":"P-256","x":"{{jwk.X}}","y":"{{jwk.Y}}","x5c":["!!!"]}]}""",
            $$"""{"keys":[{"use":7,"kty":"EC"}]}""",
        };
    }

    [Theory]
    [MemberData(nameof(MalformedBundles))]
    public void Parse_Malformed_ThrowsSpiffeBundleFormatException(string json)
    {
        var ex = Assert.Throws<SpiffeBundleFormatException>(() => SpiffeBundle.Parse(Td, Encoding.UTF8.GetBytes(json)));
        Assert.StartsWith("spiffebundle:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_LargerThanOneMebibyte_IsRejected()
    {
        var big = Encoding.UTF8.GetBytes("{\"keys\":[],\"pad\":\"" + new string('a', JwtBundle.MaxJsonSize) + "\"}");
        Assert.Throws<SpiffeBundleFormatException>(() => SpiffeBundle.Parse(Td, big));
    }

    [Fact]
    public void Parse_ZeroTrustDomain_Throws()
    {
        Assert.Throws<ArgumentException>(() => SpiffeBundle.Parse(default, """{"keys":[]}"""u8));
    }
}

public sealed class SpiffeBundleMapTests
{
    [Fact]
    public void Parse_TwoTrustDomains_ServesEach()
    {
        using var ca = TestKeys.CreateCa("example.org");
        var a = new SpiffeBundle(TrustDomain.Parse("example.org"), [ca], []).ToJson();
        var json = $$"""{"trust_domains":{"example.org":{{a}},"spiffe://other.org":{"keys":[]} } }""";

        var map = SpiffeBundleMap.Parse(Encoding.UTF8.GetBytes(json));

        Assert.Equal(2, map.Bundles.Count);
        Assert.True(map.TryGetX509Bundle(TrustDomain.Parse("example.org"), out var x509));
        Assert.Single(x509.Authorities);
        Assert.True(map.TryGetJwtBundle(TrustDomain.Parse("other.org"), out var jwt));
        Assert.Empty(jwt.Authorities);
        Assert.False(map.TryGetX509Bundle(TrustDomain.Parse("third.org"), out _));
    }

    [Theory]
    [InlineData("""{}""")]
    [InlineData("""{"trust_domains":[]}""")]
    [InlineData("""{"trust_domains":{"Example.org":{"keys":[]}}}""")]
    [InlineData("""{"trust_domains":{"example.org":{"keys":[]},"example.org":{"keys":[]}}}""")]
    [InlineData("""{"trust_domains":{"example.org":{"keys":[]},"spiffe://example.org":{"keys":[]}}}""")]
    [InlineData("""{"trust_domains":{"example.org":{}}}""")]
    public void Parse_Malformed_Throws(string json)
    {
        Assert.Throws<SpiffeBundleFormatException>(() => SpiffeBundleMap.Parse(Encoding.UTF8.GetBytes(json)));
    }
}

public sealed class SpiffeBundleKeyTypeTests
{
    [Fact]
    public void Parse_X509EntryWhoseCertificateKeyDiffersFromKty_Throws()
    {
        // An RSA-declared entry carrying an EC CA certificate.
        using var ca = TestKeys.CreateCa("example.org");
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var jwk = TestKeys.ToJwk(rsa, "");
        var json = $$"""{"keys":[{"use":"x509-svid","kty":"RSA","n":"{{jwk.N}}","e":"{{jwk.E}}","x5c":["{{Convert.ToBase64String(ca.RawData)}}"]}]}""";

        Assert.Throws<SpiffeBundleFormatException>(() => SpiffeBundle.Parse(TrustDomain.Parse("example.org"), Encoding.UTF8.GetBytes(json)));
    }
}
