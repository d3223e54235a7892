// Broker.Jose — DPoP (RFC 9449).

using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Internal;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Jose.DPoP;

/// <summary>
/// The verifiers (imported public key and signature provider) of the proof keys seen recently, by RFC 7638 thumbprint
/// and <c>alg</c>, so that a client signing every proof with one key has it imported once, not per proof. Bounded:
/// at most <see cref="DPoPProofValidatorOptions.VerifierCacheSize"/> entries, each dropped after
/// <see cref="IdleLifetime"/> unused. Thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// Proof keys are the caller's choice, so the bound is what matters: <see cref="MemoryCache"/> with a
/// <see cref="MemoryCacheOptions.SizeLimit"/> refuses an entry that would go past it and compacts in the background,
/// least recently used first, so a flood of fresh keys neither grows the cache nor keeps a busy client's key out for
/// long, and a refused entry costs only what a proof cost before there was a cache (the key is imported for that proof).
/// Only keys whose proof signature verified are added: a forged proof never takes an entry.
/// </para>
/// <para>
/// The thumbprint names the key exactly: <see cref="DPoPJwk.TryRead"/> admits only the canonical form of a key (fixed
/// coordinate sizes, minimal RSA integers), and every proof's <c>jwk</c> is still read and checked against its
/// <c>alg</c> before the cache is asked. An entry is never disposed on eviction, since another thread may be verifying
/// with it; the garbage collector releases the key, as it would have released one imported per proof.
/// </para>
/// </remarks>
#pragma warning disable CA1001 // MemoryCache holds no timer or native resource; it lives as long as its validator, which has no end.
internal sealed class DPoPVerifierCache
#pragma warning restore CA1001
{
    /// <summary>How long an entry lives without being used: longer than the gap between two requests of a busy agent.</summary>
    public static readonly TimeSpan IdleLifetime = TimeSpan.FromMinutes(10);

    private readonly MemoryCache _cache;

    public DPoPVerifierCache(int size, TimeProvider timeProvider)
    {
        _cache = new MemoryCache(new MemoryCacheOptions
        {
            SizeLimit = size,
            CompactionPercentage = 0.10,
            Clock = new Clock(timeProvider),
            TrackStatistics = true,
        });
    }

    /// <summary>How many verifiers are held now.</summary>
    public int Count => _cache.Count;

    /// <summary>How many lookups found a verifier, since the start.</summary>
    public long Hits => _cache.GetCurrentStatistics()?.TotalHits ?? 0;

    /// <summary>The verifier of the key with <paramref name="thumbprint"/> for <paramref name="alg"/>, if it is held.</summary>
    public SignatureProvider? Get(string thumbprint, string alg) =>
        _cache.TryGetValue(new Key(thumbprint, alg), out SignatureProvider? provider) ? provider : null;

    /// <summary>Holds <paramref name="provider"/>, unless the cache is full (then it is compacted for later entries).</summary>
    public void Add(string thumbprint, string alg, SignatureProvider provider)
    {
        using var entry = _cache.CreateEntry(new Key(thumbprint, alg));
        entry.Value = provider;
        entry.Size = 1;
        entry.SlidingExpiration = IdleLifetime;
    }

    private readonly record struct Key(string Thumbprint, string Alg);

    /// <summary>The validator's clock for the cache's expirations, so that tests move both together.</summary>
    private sealed class Clock(TimeProvider timeProvider) : ISystemClock
    {
        public DateTimeOffset UtcNow => timeProvider.GetUtcNow();
    }
}
