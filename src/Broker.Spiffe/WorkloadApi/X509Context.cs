// Broker.Spiffe — SPIFFE for .NET.

using Broker.Spiffe.Bundles;
using Broker.Spiffe.Svids;

namespace Broker.Spiffe.WorkloadApi;

/// <summary>One complete X509-SVID update: the workload's SVIDs and the X.509 bundles it should trust.</summary>
public sealed class X509Context
{
    /// <summary>Creates a context.</summary>
    public X509Context(IReadOnlyList<X509Svid> svids, X509BundleSet bundles)
    {
        ArgumentNullException.ThrowIfNull(svids);
        ArgumentNullException.ThrowIfNull(bundles);
        if (svids.Count == 0)
        {
            throw new ArgumentException("workloadapi: an X.509 context needs at least one SVID.", nameof(svids));
        }

        Svids = svids;
        Bundles = bundles;
    }

    /// <summary>The SVIDs; never empty.</summary>
    public IReadOnlyList<X509Svid> Svids { get; }

    /// <summary>The default SVID: the first one (spec §1).</summary>
    public X509Svid DefaultSvid => Svids[0];

    /// <summary>The bundles: the workload's own trust domain and any federated ones.</summary>
    public X509BundleSet Bundles { get; }
}
