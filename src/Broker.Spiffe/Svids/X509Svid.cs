// Broker.Spiffe — SPIFFE for .NET.

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Spiffe.Internal;

namespace Broker.Spiffe.Svids;

/// <summary>
/// An X509-SVID with its private key: the workload's own identity for mutual TLS (spec §2, "Own SVID").
/// </summary>
public sealed class X509Svid
{
    private X509Svid(SpiffeId id, X509Certificate2 certificate, IReadOnlyList<X509Certificate2> chain, string? hint)
    {
        Id = id;
        Certificate = certificate;
        Certificates = chain;
        Hint = hint;
    }

    /// <summary>The SPIFFE ID (the leaf's URI SAN).</summary>
    public SpiffeId Id { get; }

    /// <summary>The leaf certificate with its private key attached, ready for <c>SslStream</c> or Kestrel.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The chain: the leaf (with private key) first, then intermediates, as the Workload API sent it.</summary>
    public IReadOnlyList<X509Certificate2> Certificates { get; }

    /// <summary>The operator's hint for choosing among several SVIDs, or null (spec §1).</summary>
    public string? Hint { get; }

    /// <summary>The leaf's expiry.</summary>
    public DateTimeOffset NotAfter => new(Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);

    /// <summary>
    /// Parses the Workload API encoding: concatenated DER certificates (leaf first) and an unencrypted PKCS#8
    /// private key that must belong to the leaf. The leaf must carry exactly one URI SAN that is a SPIFFE ID.
    /// Trust is not checked: this is the workload's own SVID from its local agent.
    /// </summary>
    /// <exception cref="FormatException">The data is malformed or the key does not match (message prefixed <c>x509svid:</c>).</exception>
    public static X509Svid ParseRaw(ReadOnlySpan<byte> certificatesDer, ReadOnlySpan<byte> privateKeyPkcs8, string? hint = null)
    {
        var certs = DerCertificates.Split(certificatesDer, "x509svid");
        try
        {
            if (certs.Count == 0)
            {
                throw new FormatException("x509svid: no certificates.");
            }

            var leaf = certs[0];
            if (!CertificateIdentity.TryGetSpiffeId(leaf, out var id, out _))
            {
                throw new FormatException("x509svid: leaf must have exactly one URI SAN that is a SPIFFE ID.");
            }

            var withKey = AttachKey(leaf, privateKeyPkcs8);
            leaf.Dispose();
            certs[0] = withKey;
            return new X509Svid(id, withKey, certs, string.IsNullOrEmpty(hint) ? null : hint);
        }
        catch
        {
            foreach (var cert in certs)
            {
                cert.Dispose();
            }

            throw;
        }
    }

    private static X509Certificate2 AttachKey(X509Certificate2 leaf, ReadOnlySpan<byte> pkcs8)
    {
        // The key type follows the leaf's public key; CopyWithPrivateKey rejects a key that is not the leaf's.
        try
        {
            using var ecPublic = leaf.GetECDsaPublicKey();
            if (ecPublic is not null)
            {
                using var ec = ECDsa.Create();
                ec.ImportPkcs8PrivateKey(pkcs8, out var read);
                EnsureConsumed(read, pkcs8.Length);
                return leaf.CopyWithPrivateKey(ec);
            }

            using var rsaPublic = leaf.GetRSAPublicKey();
            if (rsaPublic is not null)
            {
                using var rsa = RSA.Create();
                rsa.ImportPkcs8PrivateKey(pkcs8, out var read);
                EnsureConsumed(read, pkcs8.Length);
                return leaf.CopyWithPrivateKey(rsa);
            }
        }
        catch (CryptographicException ex)
        {
            throw new FormatException("x509svid: private key is not a valid PKCS#8 key of the leaf's type.", ex);
        }
        catch (ArgumentException ex)
        {
            throw new FormatException("x509svid: private key does not match the leaf certificate.", ex);
        }

        throw new FormatException("x509svid: leaf key type is neither EC nor RSA.");
    }

    private static void EnsureConsumed(int read, int length)
    {
        if (read != length)
        {
            throw new FormatException("x509svid: trailing data after the private key.");
        }
    }
}
