// Broker.Spiffe — SPIFFE for .NET.

using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Testing.Pki;

/// <summary>How to shape a test leaf certificate, including deliberately broken ones.</summary>
public sealed record LeafSpec
{
    public IReadOnlyList<string> UriSans { get; init; } = [];
    public bool IsCa { get; init; }
    public X509KeyUsageFlags KeyUsage { get; init; } = X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.KeyAgreement;
    public bool Rsa { get; init; }
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromHours(1);
    public DateTimeOffset? NotBefore { get; init; }
}

/// <summary>A certificate with its private key and the key's PKCS#8 encoding, as the Workload API ships it.</summary>
public sealed record IssuedCertificate(X509Certificate2 Certificate, byte[] Pkcs8Key, AsymmetricAlgorithm Key);

/// <summary>
/// Real test PKI, generated per run: SPIFFE-shaped root CAs (cA, keyCertSign|cRLSign, URI SAN spiffe://td),
/// intermediates and leaf SVIDs (one URI SAN, digitalSignature, EKU serverAuth+clientAuth), EC P-256 or RSA.
/// </summary>
public static class TestPki
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    public static IssuedCertificate CreateRoot(string trustDomain, DateTimeOffset? notBefore = null)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={trustDomain} root {Guid.NewGuid():N}", key, HashAlgorithmName.SHA256);
        AddCaExtensions(req, trustDomain);
        var nb = notBefore ?? DateTimeOffset.UtcNow.AddMinutes(-5);
        var cert = req.CreateSelfSigned(nb, nb.AddDays(2));
        return new IssuedCertificate(cert, key.ExportPkcs8PrivateKey(), key);
    }

    public static IssuedCertificate CreateIntermediate(IssuedCertificate issuer, string trustDomain, bool isCa = true)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={trustDomain} intermediate {Guid.NewGuid():N}", key, HashAlgorithmName.SHA256);
        if (isCa)
        {
            AddCaExtensions(req, trustDomain);
        }
        else
        {
            req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        }

        var nb = issuer.Certificate.NotBefore.ToUniversalTime().AddMinutes(1);
        using var cert = req.Create(issuer.Certificate.SubjectName, Signer(issuer), nb, issuer.Certificate.NotAfter.ToUniversalTime().AddMinutes(-1), Serial());
        return new IssuedCertificate(cert.CopyWithPrivateKey(key), key.ExportPkcs8PrivateKey(), key);
    }

    public static IssuedCertificate CreateLeaf(IssuedCertificate issuer, string spiffeId, LeafSpec? spec = null)
    {
        spec ??= new LeafSpec();
        var uris = spec.UriSans.Count > 0 ? spec.UriSans : [spiffeId];
        AsymmetricAlgorithm key = spec.Rsa ? RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = key is RSA rsa
            ? new CertificateRequest("CN=workload", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest("CN=workload", (ECDsa)key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(spec.IsCa, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(spec.KeyUsage, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth, ClientAuth], false));
        req.CertificateExtensions.Add(UriSans(uris));
        // SPIRE backdates NotBefore by 10 s for clock skew.
        var nb = spec.NotBefore ?? DateTimeOffset.UtcNow.AddSeconds(-10);
        var notAfter = nb + spec.Lifetime;
        // The signature-generator overload skips .NET's issuer checks (key type, basic constraints, validity
        // nesting) so that tests can build the broken chains a verifier must reject.
        using var cert = req.Create(issuer.Certificate.SubjectName, Signer(issuer), nb, notAfter, Serial());
        var withKey = key is RSA r ? cert.CopyWithPrivateKey(r) : cert.CopyWithPrivateKey((ECDsa)key);
        var pkcs8 = key is RSA r2 ? r2.ExportPkcs8PrivateKey() : ((ECDsa)key).ExportPkcs8PrivateKey();
        return new IssuedCertificate(withKey, pkcs8, key);
    }

    /// <summary>Concatenated DER, the Workload API encoding.</summary>
    public static byte[] Der(params IEnumerable<X509Certificate2> certs) => [.. certs.SelectMany(c => c.RawData)];

    private static X509SignatureGenerator Signer(IssuedCertificate issuer) => issuer.Key switch
    {
        ECDsa ec => X509SignatureGenerator.CreateForECDsa(ec),
        RSA rsa => X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
        _ => throw new ArgumentException("unsupported issuer key", nameof(issuer)),
    };

    private static void AddCaExtensions(CertificateRequest req, string trustDomain)
    {
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(UriSans(["spiffe://" + trustDomain]));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
    }

    private static X509Extension UriSans(IEnumerable<string> uris)
    {
        // SubjectAlternativeNameBuilder.AddUri goes through System.Uri, which would normalise the broken
        // IDs some tests need; encode GeneralNames directly instead.
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var uri in uris)
            {
                writer.WriteCharacterString(UniversalTagNumber.IA5String, uri, new Asn1Tag(TagClass.ContextSpecific, 6));
            }
        }

        return new X509Extension("2.5.29.17", writer.Encode(), false);
    }

    private static byte[] Serial() => RandomNumberGenerator.GetBytes(16) is var b ? [(byte)(b[0] & 0x7F), .. b[1..]] : [];
}
