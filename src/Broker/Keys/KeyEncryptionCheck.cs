using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Xml;
using System.Xml.Linq;

namespace Broker.Keys;

/// <summary>The key-encryption certificates this process was configured with (loaded once, at registration).</summary>
/// <param name="Current">Encrypts new Data Protection keys and decrypts.</param>
/// <param name="Previous">Decrypt only.</param>
internal sealed record KeyEncryptionCertificateSet(X509Certificate2? Current, IReadOnlyList<X509Certificate2> Previous)
{
    public IEnumerable<X509Certificate2> All => Current is null ? Previous : Previous.Prepend(Current);
}

/// <summary>
/// Before Data Protection reads its keys: when the ones in Redis are encrypted to certificates and none of them is
/// one this process has, stop the start with a message naming both, instead of letting Data Protection skip every
/// key it cannot decrypt, create a new one, and leave every signing key undecryptable.
/// </summary>
internal sealed class KeyEncryptionCheck(RedisKeyRingStore store, KeyEncryptionCertificateSet certificates, KeyMaterialProtector protector)
{
    private static readonly XNamespace XmlDsig = "http://www.w3.org/2000/09/xmldsig#";

    /// <summary>The message for signing keys that do not decrypt with this process's certificates.</summary>
    public const string UndecryptableMessage =
        $"The signing keys in Redis cannot be decrypted with {KeysOptions.SectionName}:Encryption:CertificatePath. " +
        "Configure the certificate the ring was encrypted with (or add it to PreviousCertificatePaths).";

    /// <summary>
    /// Before the host starts (<see cref="Hosting.StartupCheck"/>): the certificate check, then whether the ring's
    /// signing keys decrypt. Empty when the broker can start, or when Redis cannot be reached (the replica then starts
    /// without keys and keeps trying, as it does for grants).
    /// </summary>
    public IReadOnlyList<string> FindProblems()
    {
        try
        {
            CheckAsync(CancellationToken.None).GetAwaiter().GetResult();
            var ring = store.ReadAsync(CancellationToken.None).GetAwaiter().GetResult();
            foreach (var key in ring.Keys.Where(k => k.RemoveAt is null))
            {
                _ = protector.Unprotect(key);
            }

            return [];
        }
        catch (InvalidOperationException ex)
        {
            return [ex.Message];
        }
        catch (CryptographicException)
        {
            return [UndecryptableMessage];
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            return [];
        }
    }

    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        var stored = await store.ReadDataProtectionKeysAsync(cancellationToken);
        var encryptedTo = new HashSet<string>(StringComparer.Ordinal);
        foreach (var xml in stored)
        {
            foreach (var certificate in EncryptionCertificates(xml))
            {
                encryptedTo.Add(certificate);
            }
        }

        var ours = certificates.All.Select(Thumbprint).ToHashSet(StringComparer.Ordinal);
        if (encryptedTo.Count > 0 && !encryptedTo.Overlaps(ours))
        {
            throw new InvalidOperationException(
                $"The key ring in Redis is encrypted to another certificate (SHA-256 thumbprint {string.Join(", ", encryptedTo.Order(StringComparer.Ordinal))}) " +
                $"than {KeysOptions.SectionName}:Encryption:CertificatePath ({string.Join(", ", ours.Order(StringComparer.Ordinal))}). " +
                "Configure the certificate the ring was encrypted with (or add it to PreviousCertificatePaths).");
        }
    }

    /// <summary>The SHA-256 thumbprints of the certificates an XML Encryption key element names (<c>X509Data/X509Certificate</c>).</summary>
    private static IEnumerable<string> EncryptionCertificates(string xml)
    {
        XElement element;
        try
        {
            element = XElement.Parse(xml);
        }
        catch (XmlException)
        {
            // Not ours to judge: Data Protection reports elements it cannot read.
            yield break;
        }

        foreach (var data in element.Descendants(XmlDsig + "X509Certificate"))
        {
            string? thumbprint;
            try
            {
                using var certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(data.Value.Trim()));
                thumbprint = Thumbprint(certificate);
            }
            catch (Exception ex) when (ex is FormatException or CryptographicException)
            {
                thumbprint = null;
            }

            if (thumbprint is not null)
            {
                yield return thumbprint;
            }
        }
    }

    private static string Thumbprint(X509Certificate2 certificate) => certificate.GetCertHashString(HashAlgorithmName.SHA256);
}
