// Broker.Spiffe — SPIFFE for .NET.

using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Broker.Spiffe.Internal;

namespace Broker.Spiffe.Bundles;

/// <summary>
/// Several SPIFFE bundles keyed by trust domain in one document, <c>{"trust_domains":{"example.org":{…bundle…}}}</c>
/// (the SPIFFE bundle map used by gRPC and file-based configuration; spec §4). Immutable; serves both bundle kinds.
/// </summary>
public sealed class SpiffeBundleMap : IX509BundleSource, IJwtBundleSource
{
    private readonly FrozenDictionary<TrustDomain, SpiffeBundle> _bundles;

    private SpiffeBundleMap(Dictionary<TrustDomain, SpiffeBundle> bundles) => _bundles = bundles.ToFrozenDictionary();

    /// <summary>The bundles by trust domain.</summary>
    public IReadOnlyDictionary<TrustDomain, SpiffeBundle> Bundles => _bundles;

    /// <summary>
    /// Parses a bundle map. Each key is a trust domain (bare or <c>spiffe://</c> form) and each value a SPIFFE
    /// bundle. A trust domain named twice, in either spelling, is rejected: it would be ambiguous which bundle wins.
    /// The whole document is bounded to 1 MiB.
    /// </summary>
    /// <exception cref="SpiffeBundleFormatException">The document or one of its bundles is malformed (message prefixed <c>spiffebundle:</c>).</exception>
    public static SpiffeBundleMap Parse(ReadOnlySpan<byte> json)
    {
        using var doc = JwkSetReader.Open(json, "spiffebundle");
        if (!doc.RootElement.TryGetProperty("trust_domains", out var map) || map.ValueKind != JsonValueKind.Object)
        {
            throw new SpiffeBundleFormatException("spiffebundle: bundle map has no \"trust_domains\" object.");
        }

        var bundles = new Dictionary<TrustDomain, SpiffeBundle>();
        foreach (var entry in map.EnumerateObject())
        {
            if (!TrustDomain.TryParse(entry.Name, out var td))
            {
                throw new SpiffeBundleFormatException("spiffebundle: bundle map has an invalid trust domain name.");
            }

            if (bundles.ContainsKey(td))
            {
                throw new SpiffeBundleFormatException("spiffebundle: bundle map names a trust domain twice.");
            }

            bundles[td] = SpiffeBundle.Parse(td, JsonSerializer.SerializeToUtf8Bytes(entry.Value));
        }

        return new SpiffeBundleMap(bundles);
    }

    /// <inheritdoc />
    public bool TryGetX509Bundle(TrustDomain trustDomain, [NotNullWhen(true)] out X509Bundle? bundle)
    {
        bundle = _bundles.TryGetValue(trustDomain, out var b) ? b.X509Bundle : null;
        return bundle is not null;
    }

    /// <inheritdoc />
    public bool TryGetJwtBundle(TrustDomain trustDomain, [NotNullWhen(true)] out JwtBundle? bundle)
    {
        bundle = _bundles.TryGetValue(trustDomain, out var b) ? b.JwtBundle : null;
        return bundle is not null;
    }
}
