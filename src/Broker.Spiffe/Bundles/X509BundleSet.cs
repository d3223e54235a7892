// Broker.Spiffe — SPIFFE for .NET.

using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Broker.Spiffe.Bundles;

/// <summary>An immutable set of X.509 bundles, at most one per trust domain.</summary>
public sealed class X509BundleSet : IX509BundleSource
{
    private readonly FrozenDictionary<TrustDomain, X509Bundle> _bundles;

    /// <summary>Creates a set. A trust domain given twice is an error: bundles of different trust domains are never merged (spec §1).</summary>
    /// <exception cref="ArgumentException">Two bundles share a trust domain.</exception>
    public X509BundleSet(IEnumerable<X509Bundle> bundles)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        var map = new Dictionary<TrustDomain, X509Bundle>();
        foreach (var bundle in bundles)
        {
            ArgumentNullException.ThrowIfNull(bundle, nameof(bundles));
            if (!map.TryAdd(bundle.TrustDomain, bundle))
            {
                throw new ArgumentException("x509bundle: two bundles for one trust domain.", nameof(bundles));
            }
        }

        _bundles = map.ToFrozenDictionary();
    }

    /// <summary>Creates a set from the given bundles.</summary>
    public X509BundleSet(params ReadOnlySpan<X509Bundle> bundles)
        : this((IEnumerable<X509Bundle>)bundles.ToArray())
    {
    }

    /// <summary>An empty set, which trusts nothing.</summary>
    public static X509BundleSet Empty { get; } = new((IEnumerable<X509Bundle>)[]);

    /// <summary>The bundles in the set.</summary>
    public IReadOnlyCollection<X509Bundle> Bundles => _bundles.Values;

    /// <inheritdoc />
    public bool TryGetX509Bundle(TrustDomain trustDomain, [NotNullWhen(true)] out X509Bundle? bundle) =>
        _bundles.TryGetValue(trustDomain, out bundle);
}
