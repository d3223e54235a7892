// Broker.Spiffe — SPIFFE for .NET.

using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using Broker.Spiffe.Internal;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Spiffe.Bundles;

/// <summary>
/// The JWT authorities (public keys by key ID) of one trust domain. Immutable.
/// </summary>
public sealed class JwtBundle
{
    /// <summary>The maximum size of a JWKS document this library will parse: 1 MiB.</summary>
    public const int MaxJsonSize = 1024 * 1024;

    private readonly FrozenDictionary<string, JsonWebKey> _authorities;

    /// <summary>Creates a bundle from keys already indexed by key ID.</summary>
    /// <exception cref="ArgumentException">The trust domain is zero, or a key ID is empty or differs from its key's <c>kid</c>.</exception>
    public JwtBundle(TrustDomain trustDomain, IEnumerable<KeyValuePair<string, JsonWebKey>> authorities)
    {
        ArgumentNullException.ThrowIfNull(authorities);
        if (trustDomain.IsZero)
        {
            throw new ArgumentException("jwtbundle: trust domain is empty.", nameof(trustDomain));
        }

        var map = new Dictionary<string, JsonWebKey>(StringComparer.Ordinal);
        foreach (var (kid, key) in authorities)
        {
            ArgumentNullException.ThrowIfNull(key, nameof(authorities));
            if (string.IsNullOrEmpty(kid))
            {
                throw new ArgumentException("jwtbundle: authority key ID is empty.", nameof(authorities));
            }

            if (!string.IsNullOrEmpty(key.Kid) && !string.Equals(key.Kid, kid, StringComparison.Ordinal))
            {
                throw new ArgumentException("jwtbundle: authority key ID does not match the key's kid.", nameof(authorities));
            }

            if (!map.TryAdd(kid, key))
            {
                throw new ArgumentException("jwtbundle: duplicate authority key ID.", nameof(authorities));
            }
        }

        TrustDomain = trustDomain;
        _authorities = map.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>The trust domain the bundle belongs to.</summary>
    public TrustDomain TrustDomain { get; }

    /// <summary>The authorities by key ID (<c>kid</c>).</summary>
    public IReadOnlyDictionary<string, JsonWebKey> Authorities => _authorities;

    /// <summary>Finds the authority with key ID <paramref name="kid"/>.</summary>
    public bool TryGetAuthority(string kid, [MaybeNullWhen(false)] out JsonWebKey key) =>
        _authorities.TryGetValue(kid, out key);

    /// <summary>
    /// Parses a plain JWK Set, as the Workload API's FetchJWTBundles sends it (SPIRE emits no <c>use</c> and
    /// no <c>spiffe_*</c> members; spec §1). Every key must have a <c>kid</c>; keys whose <c>use</c> is present
    /// and neither <c>sig</c> nor <c>jwt-svid</c>, or whose <c>kty</c> is not <c>EC</c> or <c>RSA</c>, are ignored.
    /// An empty <c>keys</c> array is a valid bundle that trusts nothing.
    /// </summary>
    /// <exception cref="SpiffeBundleFormatException">The document is not a valid JWK Set (message prefixed <c>jwtbundle:</c>).</exception>
    public static JwtBundle ParseJwks(TrustDomain trustDomain, ReadOnlySpan<byte> json)
    {
        if (trustDomain.IsZero)
        {
            throw new ArgumentException("jwtbundle: trust domain is empty.", nameof(trustDomain));
        }

        var keys = new List<KeyValuePair<string, JsonWebKey>>();
        var kids = new HashSet<string>(StringComparer.Ordinal);
        using var doc = JwkSetReader.Open(json, "jwtbundle");
        foreach (var element in JwkSetReader.Keys(doc, "jwtbundle"))
        {
            var use = JwkSetReader.GetOptionalString(element, "use", "jwtbundle");
            // Plain JWKS usually omit "use"; "sig" (RFC 7517) and "jwt-svid" (SPIFFE bundle) both mean a signing key.
            if (use is not (null or "sig" or SpiffeBundle.JwtSvidUse))
            {
                continue;
            }

            var key = JwkSetReader.ToJsonWebKey(element, "jwtbundle");
            if (key is null)
            {
                continue;
            }

            if (string.IsNullOrEmpty(key.Kid))
            {
                throw new SpiffeBundleFormatException("jwtbundle: JWT authority has no key ID (kid).");
            }

            if (!kids.Add(key.Kid))
            {
                throw new SpiffeBundleFormatException("jwtbundle: duplicate key ID in JWK Set.");
            }

            keys.Add(new(key.Kid, key));
        }

        return new JwtBundle(trustDomain, keys);
    }
}
