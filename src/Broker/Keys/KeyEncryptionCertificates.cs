using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Keys;

/// <summary>
/// Loads the key-encryption certificates of <see cref="KeyEncryptionOptions"/>. Problems come back as words that name
/// the setting and the file, never the file's content or the password.
/// </summary>
internal static class KeyEncryptionCertificates
{
    /// <summary>The current certificate (encrypts and decrypts) and the earlier ones (decrypt only); or the problems.</summary>
    public static (X509Certificate2? Current, IReadOnlyList<X509Certificate2> Previous, IReadOnlyList<string> Problems) Load(KeyEncryptionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> problems = [];
        const string Section = $"{KeysOptions.SectionName}:Encryption";
        if (string.IsNullOrWhiteSpace(options.CertificatePath))
        {
            problems.Add(
                $"{Section}:CertificatePath is required with {KeysOptions.SectionName}:Store=Redis: the signing keys in Redis are " +
                "encrypted to this RSA certificate (PEM with CertificateKeyPath, or PKCS#12), which the operator provides.");
            return (null, [], problems);
        }

        var current = TryLoad($"{Section}:CertificatePath", options.CertificatePath, options.CertificateKeyPath, options.CertificatePassword, problems);
        List<X509Certificate2> previous = [];
        for (var i = 0; i < options.PreviousCertificatePaths.Count; i++)
        {
            if (TryLoad($"{Section}:PreviousCertificatePaths:{i}", options.PreviousCertificatePaths[i], null, options.CertificatePassword, problems) is { } earlier)
            {
                previous.Add(earlier);
            }
        }

        return (problems.Count == 0 ? current : null, previous, problems);
    }

    private static X509Certificate2? TryLoad(string setting, string path, string? keyPath, string? password, List<string> problems)
    {
        if (!File.Exists(path))
        {
            problems.Add($"{setting}: '{path}' does not exist.");
            return null;
        }

        if (keyPath is not null && !File.Exists(keyPath))
        {
            problems.Add($"{KeysOptions.SectionName}:Encryption:CertificateKeyPath: '{keyPath}' does not exist.");
            return null;
        }

        X509Certificate2 certificate;
        try
        {
            certificate = IsPem(path)
                ? string.IsNullOrEmpty(password)
                    ? X509Certificate2.CreateFromPemFile(path, keyPath)
                    : X509Certificate2.CreateFromEncryptedPemFile(path, password, keyPath)
                : X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            problems.Add($"{setting}: '{path}' is not a certificate with its private key that can be read (PEM with CertificateKeyPath, or PKCS#12 with CertificatePassword).");
            return null;
        }

        // XML Encryption (what Data Protection encrypts its keys with) wraps the session key with RSA only.
        using var rsa = certificate.GetRSAPrivateKey();
        if (rsa is null)
        {
            problems.Add($"{setting}: '{path}' must be an RSA certificate with its private key (Data Protection encrypts to it with RSA-OAEP).");
            certificate.Dispose();
            return null;
        }

        return certificate;
    }

    private static bool IsPem(string path)
    {
        // A PEM file starts with "-----BEGIN"; PKCS#12 is binary DER. Read only the first bytes.
        Span<byte> start = stackalloc byte[64];
        using var file = File.OpenRead(path);
        var read = file.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        return System.Text.Encoding.ASCII.GetString(start[..read]).Contains("-----BEGIN", StringComparison.Ordinal);
    }
}
