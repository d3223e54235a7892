// Broker.Spiffe — SPIFFE for .NET.

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Spiffe.Bundles;
using Broker.Spiffe.Svids;
using Broker.Testing.Pki;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Spiffe.Tests.Svids;

public sealed class X509SvidTests
{
    private const string Id = "spiffe://example.org/workload";
    private static readonly IssuedCertificate Root = TestPki.CreateRoot("example.org");
    private static readonly IssuedCertificate Intermediate = TestPki.CreateIntermediate(Root, "example.org");
    private static readonly IssuedCertificate OtherRoot = TestPki.CreateRoot("other.org");
    private static readonly X509BundleSet Bundles = new(
        new X509Bundle(TrustDomain.Parse("example.org"), [Root.Certificate]),
        new X509Bundle(TrustDomain.Parse("other.org"), [OtherRoot.Certificate]));

    [Fact]
    public void ParseRaw_LeafAndKey_AttachesKeyAndReadsId()
    {
        // Arrange
        var leaf = TestPki.CreateLeaf(Intermediate, Id);

        // Act
        var svid = X509Svid.ParseRaw(TestPki.Der(leaf.Certificate, Intermediate.Certificate), leaf.Pkcs8Key, "internal");

        // Assert
        Assert.Equal(SpiffeId.Parse(Id), svid.Id);
        Assert.True(svid.Certificate.HasPrivateKey);
        Assert.Equal(2, svid.Certificates.Count);
        Assert.Equal(Intermediate.Certificate.RawData, svid.Certificates[1].RawData);
        Assert.Equal("internal", svid.Hint);
        using var key = svid.Certificate.GetECDsaPrivateKey()!;
        var signature = key.SignData([1, 2, 3], HashAlgorithmName.SHA256);
        using var pub = leaf.Certificate.GetECDsaPublicKey()!;
        Assert.True(pub.VerifyData(new byte[] { 1, 2, 3 }, signature, HashAlgorithmName.SHA256));
    }

    private static readonly Lazy<IssuedCertificate> RsaLeaf = new(() => TestPki.CreateLeaf(Root, Id, new LeafSpec { Rsa = true }));

    private static X509Svid Parse(IssuedCertificate leaf) => X509Svid.ParseRaw(leaf.Certificate.RawData, leaf.Pkcs8Key);

    [Fact]
    public void ParseRaw_RsaLeaf_Works()
    {
        var leaf = RsaLeaf.Value;
        var svid = X509Svid.ParseRaw(leaf.Certificate.RawData, leaf.Pkcs8Key);
        Assert.True(svid.Certificate.HasPrivateKey);
        Assert.Null(svid.Hint);
    }

    [Fact]
    public void ParseRaw_KeyOfAnotherLeaf_Throws()
    {
        var leaf = TestPki.CreateLeaf(Root, Id);
        var other = TestPki.CreateLeaf(Root, Id);
        var ex = Assert.Throws<FormatException>(() => X509Svid.ParseRaw(leaf.Certificate.RawData, other.Pkcs8Key));
        Assert.StartsWith("x509svid:", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("empty certs")]
    [InlineData("bad der")]
    [InlineData("trailing garbage")]
    [InlineData("bad key")]
    [InlineData("rsa key for ec leaf")]
    [InlineData("two uri sans")]
    [InlineData("no uri san")]
    public void ParseRaw_Malformed_Throws(string caseName)
    {
        var leaf = TestPki.CreateLeaf(Root, Id);
        Action act = caseName switch
        {
            "empty certs" => () => X509Svid.ParseRaw([], leaf.Pkcs8Key),
            "bad der" => () => X509Svid.ParseRaw([0x30, 0x03, 0x01], leaf.Pkcs8Key),
            "trailing garbage" => () => X509Svid.ParseRaw([.. leaf.Certificate.RawData, 0xFF], leaf.Pkcs8Key),
            "bad key" => () => X509Svid.ParseRaw(leaf.Certificate.RawData, [1, 2, 3]),
            "rsa key for ec leaf" => () => X509Svid.ParseRaw(leaf.Certificate.RawData, RsaLeaf.Value.Pkcs8Key),
            "two uri sans" => () => Parse(TestPki.CreateLeaf(Root, Id, new LeafSpec { UriSans = [Id, "spiffe://example.org/other"] })),
            _ => () => Parse(TestPki.CreateLeaf(Root, Id, new LeafSpec { UriSans = ["https://example.org/x"] })),
        };
        Assert.Throws<FormatException>(act);
    }

    [Fact]
    public void Verify_LeafViaIntermediate_ReturnsId()
    {
        var leaf = TestPki.CreateLeaf(Intermediate, Id);
        var id = X509SvidVerifier.Verify([leaf.Certificate, Intermediate.Certificate], Bundles);
        Assert.Equal(SpiffeId.Parse(Id), id);
    }

    [Fact]
    public void Verify_LeafDirectlyUnderRoot_ReturnsId()
    {
        var leaf = TestPki.CreateLeaf(Root, Id);
        Assert.True(X509SvidVerifier.TryVerify([leaf.Certificate], Bundles, out var id, out _));
        Assert.Equal(SpiffeId.Parse(Id), id);
    }

    public static TheoryData<string, X509SvidValidationError> NegativeCases() => new()
    {
        { "empty", X509SvidValidationError.EmptyChain },
        { "leaf is CA", X509SvidValidationError.LeafIsCa },
        { "leaf keyCertSign", X509SvidValidationError.LeafCanSign },
        { "leaf cRLSign", X509SvidValidationError.LeafCanSign },
        { "no digitalSignature", X509SvidValidationError.MissingDigitalSignature },
        { "two URI SANs", X509SvidValidationError.InvalidUriSan },
        { "no URI SAN", X509SvidValidationError.InvalidUriSan },
        { "URI SAN not SPIFFE", X509SvidValidationError.InvalidSpiffeId },
        { "root ID", X509SvidValidationError.RootId },
        { "unknown trust domain", X509SvidValidationError.UnknownTrustDomain },
        { "wrong trust domain", X509SvidValidationError.ChainNotTrusted },
        { "expired", X509SvidValidationError.ChainNotTrusted },
        { "not yet valid", X509SvidValidationError.ChainNotTrusted },
        { "broken chain (intermediate missing)", X509SvidValidationError.ChainNotTrusted },
        { "intermediate not CA", X509SvidValidationError.InvalidIntermediate },
        { "self-signed leaf", X509SvidValidationError.ChainNotTrusted },
    };

    [Theory]
    [MemberData(nameof(NegativeCases))]
    public void Verify_Invalid_RejectsWithError(string caseName, X509SvidValidationError expected)
    {
        // Arrange
        var chain = BuildChain(caseName);

        // Act
        var ok = X509SvidVerifier.TryVerify(chain, Bundles, out var id, out var error, new FakeTimeProvider(DateTimeOffset.UtcNow));

        // Assert
        Assert.False(ok);
        Assert.Equal(expected, error);
        Assert.True(id.IsZero);
        var ex = Assert.Throws<X509SvidValidationException>(() => X509SvidVerifier.Verify(chain, Bundles));
        Assert.Equal(expected, ex.Error);
        Assert.StartsWith("x509svid:", ex.Message, StringComparison.Ordinal);
    }

    private static X509Certificate2[] BuildChain(string caseName)
    {
        switch (caseName)
        {
            case "empty":
                return [];
            case "leaf is CA":
                return [TestPki.CreateLeaf(Root, Id, new LeafSpec { IsCa = true }).Certificate];
            case "leaf keyCertSign":
                return [TestPki.CreateLeaf(Root, Id, new LeafSpec { KeyUsage = X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign }).Certificate];
            case "leaf cRLSign":
                return [TestPki.CreateLeaf(Root, Id, new LeafSpec { KeyUsage = X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.CrlSign }).Certificate];
            case "no digitalSignature":
                return [TestPki.CreateLeaf(Root, Id, new LeafSpec { KeyUsage = X509KeyUsageFlags.KeyEncipherment }).Certificate];
            case "two URI SANs":
                return [TestPki.CreateLeaf(Root, Id, new LeafSpec { UriSans = [Id, "spiffe://example.org/b"] }).Certificate];
            case "no URI SAN":
                return [NoSanLeaf()];
            case "URI SAN not SPIFFE":
                return [TestPki.CreateLeaf(Root, Id, new LeafSpec { UriSans = ["https://example.org/workload"] }).Certificate];
            case "root ID":
                return [TestPki.CreateLeaf(Root, "spiffe://example.org").Certificate];
            case "unknown trust domain":
                return [TestPki.CreateLeaf(Root, "spiffe://unknown.org/workload").Certificate];
            case "wrong trust domain":
                // Signed by other.org's CA but claiming example.org: only example.org's bundle may vouch for it.
                return [TestPki.CreateLeaf(OtherRoot, Id).Certificate];
            case "expired":
                return [TestPki.CreateLeaf(Root, Id, new LeafSpec { NotBefore = DateTimeOffset.UtcNow.AddHours(-3), Lifetime = TimeSpan.FromHours(1) }).Certificate];
            case "not yet valid":
                return [TestPki.CreateLeaf(Root, Id, new LeafSpec { NotBefore = DateTimeOffset.UtcNow.AddHours(1) }).Certificate];
            case "broken chain (intermediate missing)":
                return [TestPki.CreateLeaf(Intermediate, Id).Certificate];
            case "intermediate not CA":
                var notCa = TestPki.CreateIntermediate(Root, "example.org", isCa: false);
                return [TestPki.CreateLeaf(notCa, Id).Certificate, notCa.Certificate];
            default:
                var selfRoot = TestPki.CreateRoot("example.org");
                return [TestPki.CreateLeaf(selfRoot, Id).Certificate];
        }
    }

    private static X509Certificate2 NoSanLeaf()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=nosan", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        using var cert = req.Create(Root.Certificate, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1), [1, 2, 3]);
        return X509CertificateLoader.LoadCertificate(cert.RawData);
    }
}
