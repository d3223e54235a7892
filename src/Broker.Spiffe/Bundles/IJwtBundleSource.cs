// Broker.Spiffe — SPIFFE for .NET.

using System.Diagnostics.CodeAnalysis;

namespace Broker.Spiffe.Bundles;

/// <summary>Supplies the JWT bundle of a trust domain, for validating JWT-SVIDs.</summary>
public interface IJwtBundleSource
{
    /// <summary>
    /// Gets the JWT bundle of <paramref name="trustDomain"/>. Returns false when the trust domain is
    /// unknown, in which case its tokens must be treated as untrusted (spec §1, Federation).
    /// </summary>
    bool TryGetJwtBundle(TrustDomain trustDomain, [NotNullWhen(true)] out JwtBundle? bundle);
}
