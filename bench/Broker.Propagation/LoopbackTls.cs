using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Propagation;

/// <summary>
/// A self-signed TLS certificate for <c>127.0.0.1</c>, written as PEM files for Kestrel, and HTTP handlers that trust
/// exactly that certificate (pinned by its SHA-256 hash). The broker's issuer must be https outside <c>--dev</c>, and
/// <c>--dev</c> forces the in-memory store, so the replicas serve https on loopback with this certificate.
/// </summary>
internal sealed class LoopbackTls
{
    private LoopbackTls(string certificateFile, string keyFile, string hash)
    {
        CertificateFile = certificateFile;
        KeyFile = keyFile;
        Hash = hash;
    }

    public string CertificateFile { get; }

    public string KeyFile { get; }

    private string Hash { get; }

    public static LoopbackTls Create(string directory)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddHours(-1), now.AddDays(1));
        var certificateFile = Path.Combine(directory, "tls-cert.pem");
        var keyFile = Path.Combine(directory, "tls-key.pem");
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return new LoopbackTls(certificateFile, keyFile, certificate.GetCertHashString(HashAlgorithmName.SHA256));
    }

    /// <summary>A handler that trusts this certificate only: no redirects, no cookies (as Broker.Validation's own).</summary>
    public SocketsHttpHandler CreateHandler() => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        SslOptions =
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && string.Equals(certificate.GetCertHashString(HashAlgorithmName.SHA256), Hash, StringComparison.OrdinalIgnoreCase),
        },
    };
}
