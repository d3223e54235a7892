// Broker.Spiffe — SPIFFE for .NET.

using System.Diagnostics.CodeAnalysis;

namespace Broker.Spiffe.Bundles;

/// <summary>Supplies the X.509 bundle of a trust domain, for validating X509-SVIDs.</summary>
public interface IX509BundleSource
{
    /// <summary>
    /// Gets the X.509 bundle of <paramref name="trustDomain"/>. Returns false when the trust domain is
    /// unknown, in which case its certificates must be treated as untrusted (spec §1, Federation).
    /// </summary>
    bool TryGetX509Bundle(TrustDomain trustDomain, [NotNullWhen(true)] out X509Bundle? bundle);
}
