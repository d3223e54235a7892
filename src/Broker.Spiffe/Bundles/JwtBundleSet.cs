// Broker.Spiffe — SPIFFE for .NET.

using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Broker.Spiffe.Bundles;

/// <summary>An immutable set of JWT bundles, at most one per trust domain.</summary>
public sealed class JwtBundleSet : IJwtBundleSource
{
    private readonly FrozenDictionary<TrustDomain, JwtBundle> _bundles;

    /// <summary>Creates a set. A trust domain given twice is an error: bundles of different trust domains are never merged (spec §1).</summary>
    /// <exception cref="ArgumentException">Two bundles share a trust domain.</exception>
    public JwtBundleSet(IEnumerable<JwtBundle> bundles)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        var map = new Dictionary<TrustDomain, JwtBundle>();
        foreach (var bundle in bundles)
        {
            ArgumentNullException.ThrowIfNull(bundle, nameof(bundles));
            if (!map.TryAdd(bundle.TrustDomain, bundle))
            {
                throw new ArgumentException("jwtbundle: two bundles for one trust domain.", nameof(bundles));
            }
        }

        _bundles = map.ToFrozenDictionary();
    }

    /// <summary>Creates a set from the given bundles.</summary>
    public JwtBundleSet(params ReadOnlySpan<JwtBundle> bundles)
        : this((IEnumerable<JwtBundle>)bundles.ToArray())
    {
    }

    /// <summary>An empty set, which trusts nothing.</summary>
    public static JwtBundleSet Empty { get; } = new((IEnumerable<JwtBundle>)[]);

    /// <summary>The bundles in the set.</summary>
    public IReadOnlyCollection<JwtBundle> Bundles => _bundles.Values;

    /// <inheritdoc />
    public bool TryGetJwtBundle(TrustDomain trustDomain, [NotNullWhen(true)] out JwtBundle? bundle) =>
        _bundles.TryGetValue(trustDomain, out bundle);
}
