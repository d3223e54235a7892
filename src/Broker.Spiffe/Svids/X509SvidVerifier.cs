// Broker.Spiffe — SPIFFE for .NET.

using System.Security.Cryptography.X509Certificates;
using Broker.Spiffe.Bundles;
using Broker.Spiffe.Internal;

namespace Broker.Spiffe.Svids;

/// <summary>Verifies a peer's X509-SVID chain against the X.509 bundle of its trust domain (spec §2).</summary>
public static class X509SvidVerifier
{
    /// <summary>
    /// Verifies <paramref name="chain"/> (leaf first, then intermediates) and returns the leaf's SPIFFE ID.
    /// Authorise the returned ID afterwards (exact ID, set or trust domain membership).
    /// </summary>
    /// <param name="chain">The presented certificates, leaf first.</param>
    /// <param name="bundles">The X.509 bundles; only the bundle of the leaf's own trust domain is used.</param>
    /// <param name="timeProvider">The clock for validity periods; default <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="X509SvidValidationException">The chain is not a valid X509-SVID.</exception>
    public static SpiffeId Verify(IReadOnlyList<X509Certificate2> chain, IX509BundleSource bundles, TimeProvider? timeProvider = null) =>
        TryVerify(chain, bundles, out var id, out var error, timeProvider) ? id : throw new X509SvidValidationException(error);

    /// <summary>As <see cref="Verify"/>, without throwing.</summary>
    public static bool TryVerify(
        IReadOnlyList<X509Certificate2> chain,
        IX509BundleSource bundles,
        out SpiffeId id,
        out X509SvidValidationError error,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(bundles);
        id = default;
        error = Check(chain, bundles, timeProvider ?? TimeProvider.System, out var leafId);
        if (error != 0)
        {
            return false;
        }

        id = leafId;
        return true;
    }

    internal static string Describe(X509SvidValidationError error) => error switch
    {
        X509SvidValidationError.EmptyChain => "x509svid: no certificates.",
        X509SvidValidationError.InvalidUriSan => "x509svid: leaf must have exactly one URI SAN.",
        X509SvidValidationError.InvalidSpiffeId => "x509svid: leaf URI SAN is not a valid SPIFFE ID.",
        X509SvidValidationError.RootId => "x509svid: leaf SPIFFE ID has no path.",
        X509SvidValidationError.LeafIsCa => "x509svid: leaf is a CA certificate.",
        X509SvidValidationError.LeafCanSign => "x509svid: leaf has keyCertSign or cRLSign.",
        X509SvidValidationError.MissingDigitalSignature => "x509svid: leaf lacks digitalSignature.",
        X509SvidValidationError.UnknownTrustDomain => "x509svid: no bundle for the leaf's trust domain.",
        X509SvidValidationError.InvalidIntermediate => "x509svid: an intermediate is not a valid SPIFFE CA.",
        X509SvidValidationError.ChainNotTrusted => "x509svid: chain does not verify against the trust domain's bundle.",
        _ => "x509svid: invalid.",
    };

    private static X509SvidValidationError Check(IReadOnlyList<X509Certificate2> chain, IX509BundleSource bundles, TimeProvider timeProvider, out SpiffeId id)
    {
        id = default;

        // 1. A chain, leaf first.
        if (chain.Count == 0)
        {
            return X509SvidValidationError.EmptyChain;
        }

        var leaf = chain[0];

        // 2. Exactly one URI SAN, a valid SPIFFE ID; other SAN types are allowed.
        var uris = CertificateIdentity.GetUris(leaf);
        if (uris is not { Count: 1 })
        {
            return X509SvidValidationError.InvalidUriSan;
        }

        if (!SpiffeId.TryParse(uris[0], out id))
        {
            return X509SvidValidationError.InvalidSpiffeId;
        }

        // 3. A workload identity, not the trust domain's own ID.
        if (!id.HasPath)
        {
            return X509SvidValidationError.RootId;
        }

        // 4. Leaf: not a CA, cannot sign certificates or CRLs, and can sign (X509-SVID §4.1, §4.3).
        if (leaf.Extensions[Oids.BasicConstraints] is X509BasicConstraintsExtension { CertificateAuthority: true })
        {
            return X509SvidValidationError.LeafIsCa;
        }

        var usage = (leaf.Extensions[Oids.KeyUsage] as X509KeyUsageExtension)?.KeyUsages ?? X509KeyUsageFlags.None;
        if ((usage & (X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign)) != 0)
        {
            return X509SvidValidationError.LeafCanSign;
        }

        if ((usage & X509KeyUsageFlags.DigitalSignature) == 0)
        {
            return X509SvidValidationError.MissingDigitalSignature;
        }

        // 5. The bundle of the leaf's own trust domain, and no other: trust domains are never merged (spec §1).
        if (!bundles.TryGetX509Bundle(id.TrustDomain, out var bundle) || bundle.Authorities.Count == 0)
        {
            return X509SvidValidationError.UnknownTrustDomain;
        }

        // 7. Intermediates are CAs with keyCertSign, and a SPIFFE ID on a CA names a trust domain only.
        for (var i = 1; i < chain.Count; i++)
        {
            var ca = chain[i];
            if (ca.Extensions[Oids.BasicConstraints] is not X509BasicConstraintsExtension { CertificateAuthority: true }
                || ca.Extensions[Oids.KeyUsage] is not X509KeyUsageExtension caUsage
                || (caUsage.KeyUsages & X509KeyUsageFlags.KeyCertSign) == 0)
            {
                return X509SvidValidationError.InvalidIntermediate;
            }

            var caUris = CertificateIdentity.GetUris(ca);
            if (caUris is null)
            {
                return X509SvidValidationError.InvalidIntermediate;
            }

            foreach (var uri in caUris)
            {
                if (SpiffeId.TryParse(uri, out var caId) && caId.HasPath)
                {
                    return X509SvidValidationError.InvalidIntermediate;
                }
            }
        }

        // 6. RFC 5280 path validation with the bundle as the only roots. No AIA downloads (a peer must not
        // make us fetch URLs) and no revocation checks (SPIFFE relies on short lifetimes); any EKU is accepted,
        // as go-spiffe does.
        using var x509Chain = new X509Chain();
        var policy = x509Chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(bundle.Authorities.ToArray());
        for (var i = 1; i < chain.Count; i++)
        {
            policy.ExtraStore.Add(chain[i]);
        }

        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = timeProvider.GetUtcNow().UtcDateTime;
        policy.VerificationTimeIgnored = false;
        try
        {
            if (!x509Chain.Build(leaf))
            {
                return X509SvidValidationError.ChainNotTrusted;
            }
        }
        finally
        {
            // Build() creates certificate objects for the elements; dispose them, but not the caller's.
            foreach (var element in x509Chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, leaf) && !chain.Contains(element.Certificate) && !bundle.Authorities.Contains(element.Certificate))
                {
                    element.Certificate.Dispose();
                }
            }
        }

        return 0;
    }

    private static class Oids
    {
        public const string BasicConstraints = "2.5.29.19";
        public const string KeyUsage = "2.5.29.15";
    }
}
