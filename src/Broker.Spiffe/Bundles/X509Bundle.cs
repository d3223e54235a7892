// Broker.Spiffe — SPIFFE for .NET.

using System.Security.Cryptography.X509Certificates;

namespace Broker.Spiffe.Bundles;

/// <summary>
/// The X.509 authorities (trusted root certificates) of one trust domain. Immutable.
/// </summary>
public sealed class X509Bundle
{
    /// <summary>Creates a bundle. The certificates are not copied; do not dispose them while the bundle is in use.</summary>
    /// <exception cref="ArgumentException">The trust domain is zero.</exception>
    public X509Bundle(TrustDomain trustDomain, IEnumerable<X509Certificate2> authorities)
    {
        ArgumentNullException.ThrowIfNull(authorities);
        if (trustDomain.IsZero)
        {
            throw new ArgumentException("x509bundle: trust domain is empty.", nameof(trustDomain));
        }

        TrustDomain = trustDomain;
        Authorities = [.. authorities];
        foreach (var cert in Authorities)
        {
            ArgumentNullException.ThrowIfNull(cert, nameof(authorities));
        }
    }

    /// <summary>The trust domain the bundle belongs to.</summary>
    public TrustDomain TrustDomain { get; }

    /// <summary>The trusted CA certificates.</summary>
    public IReadOnlyList<X509Certificate2> Authorities { get; }

    /// <summary>
    /// Parses concatenated DER certificates, as the Workload API sends bundles (spec §1, <c>bundle</c>, <c>bundles</c>).
    /// </summary>
    /// <exception cref="FormatException">The data is not a sequence of DER certificates (message prefixed <c>x509bundle:</c>).</exception>
    public static X509Bundle ParseDer(TrustDomain trustDomain, ReadOnlySpan<byte> der) =>
        new(trustDomain, Internal.DerCertificates.Split(der, "x509bundle"));
}
