// Broker.Spiffe — SPIFFE for .NET.

using System.Security.Cryptography;
using System.Text;
using Broker.Spiffe.Bundles;
using Broker.Testing.Pki;

namespace Broker.Spiffe.Tests.Bundles;

public sealed class JwtBundleTests
{
    private static readonly TrustDomain Td = TrustDomain.Parse("example.org");

    [Fact]
    public void ParseJwks_PlainSpireJwks_IndexesKeysByKid()
    {
        // Arrange: SPIRE's FetchJWTBundles shape: no "use", no spiffe_* members (spec §1).
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var rsa = RSA.Create(2048);
        var json = $$"""{"keys":[{{TestKeys.JwkJson(TestKeys.ToJwk(ec, "k1"))}},{{TestKeys.JwkJson(TestKeys.ToJwk(rsa, "k2"))}}]}""";

        // Act
        var bundle = JwtBundle.ParseJwks(Td, Encoding.UTF8.GetBytes(json));

        // Assert
        Assert.Equal(Td, bundle.TrustDomain);
        Assert.Equal(2, bundle.Authorities.Count);
        Assert.True(bundle.TryGetAuthority("k1", out var k1));
        Assert.Equal("EC", k1.Kty);
        Assert.True(bundle.TryGetAuthority("k2", out var k2));
        Assert.Equal("RSA", k2.Kty);
        Assert.False(bundle.TryGetAuthority("k3", out _));
    }

    [Fact]
    public void ParseJwks_EmptyKeys_IsValidAndTrustsNothing()
    {
        var bundle = JwtBundle.ParseJwks(Td, """{"keys":[]}"""u8);
        Assert.Empty(bundle.Authorities);
    }

    [Fact]
    public void ParseJwks_UnknownKtyAndForeignUse_AreIgnored()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var json = $$"""{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AA","kid":"o"},{{TestKeys.JwkJson(TestKeys.ToJwk(ec, "enc"), use: "enc")}},{{TestKeys.JwkJson(TestKeys.ToJwk(ec, "sig"), use: "sig")}}]}""";

        var bundle = JwtBundle.ParseJwks(Td, Encoding.UTF8.GetBytes(json));

        Assert.Equal(["sig"], bundle.Authorities.Keys);
    }

    public static TheoryData<string> MalformedJwks()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var noKid = TestKeys.JwkJson(TestKeys.ToJwk(ec, ""));
        var withKid = TestKeys.JwkJson(TestKeys.ToJwk(ec, "k"));
        var p = ec.ExportParameters(true);
        return new TheoryData<string>
        {
            "not json",
            "[]",
            "{}",
            """{"keys":{}}""",
            """{"keys":[1]}""",
            $$"""{"keys":[{{noKid}}]}""",
            $$"""{"keys":[{{withKid}},{{withKid}}]}""",
            """{"keys":[{"kty":"EC","kid":"k","crv":"P-256","x":"AAAA","y":"AAAA"}]}""",
            """{"keys":[{"kty":"EC","kid":"k","crv":"secp256k1","x":"AAAA","y":"AAAA"}]}""",
            """{"keys":[{"kid":"k"}]}""",
            """{"keys":[],"keys":[]}""",
            $$"""{"keys":[{"kty":"EC","kid":"k","crv":"P-256","x":"{{System.Buffers.Text.Base64Url.EncodeToString(p.Q.X)}}","y":"{{System.Buffers.Text.Base64Url.EncodeToString(p.Q.Y)}}","d":"{{System.Buffers.Text.Base64Url.EncodeToString(p.D)}}"}]}""",
        };
    }

    [Theory]
    [MemberData(nameof(MalformedJwks))]
    public void ParseJwks_Malformed_ThrowsWithPrefix(string json)
    {
        var ex = Assert.Throws<SpiffeBundleFormatException>(() => JwtBundle.ParseJwks(Td, Encoding.UTF8.GetBytes(json)));
        Assert.StartsWith("jwtbundle:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseJwks_LargerThanOneMebibyte_IsRejectedBeforeParsing()
    {
        var json = new byte[JwtBundle.MaxJsonSize + 1];
        Assert.Throws<SpiffeBundleFormatException>(() => JwtBundle.ParseJwks(Td, json));
    }

    [Fact]
    public void BundleSet_LooksUpByTrustDomain_AndRejectsDuplicates()
    {
        var a = JwtBundle.ParseJwks(Td, """{"keys":[]}"""u8);
        var b = JwtBundle.ParseJwks(TrustDomain.Parse("other.org"), """{"keys":[]}"""u8);
        var set = new JwtBundleSet(a, b);

        Assert.True(set.TryGetJwtBundle(Td, out var found));
        Assert.Same(a, found);
        Assert.False(set.TryGetJwtBundle(TrustDomain.Parse("third.org"), out _));
        Assert.Throws<ArgumentException>(() => new JwtBundleSet(a, a));
    }
}
