using System.Security.Cryptography;
using Broker.Policy;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Internal;
using Microsoft.Extensions.Options;

namespace Broker.AuthZen;

/// <summary>
/// Decisions (permit and deny, never a failure) of the decision points whose policy sets <c>cache_ttl</c>, reused for
/// that long for the very same evaluation request: keyed on the decision point and the SHA-256 of the whole request
/// body (subject, action, resource and context, policy version included, so a reload starts afresh). Bounded by
/// <see cref="AuthZenOptions.DecisionCacheSize"/>: past it a decision is simply not kept. Thread-safe.
/// </summary>
internal sealed class AuthZenDecisionCache : IDisposable
{
    private readonly MemoryCache _cache;

    public AuthZenDecisionCache(IOptions<AuthZenOptions> options, TimeProvider timeProvider)
    {
        _cache = new MemoryCache(new MemoryCacheOptions
        {
            SizeLimit = options.Value.DecisionCacheSize,
            Clock = new Clock(timeProvider),
        });
    }

    /// <summary>How many decisions are held now.</summary>
    public int Count => _cache.Count;

    /// <summary>The decision kept for <paramref name="body"/> at <paramref name="point"/>, if any.</summary>
    public bool? Get(DecisionPoint point, byte[] body) =>
        point.CacheFor is null ? null : _cache.TryGetValue(Key(point, body), out bool decision) ? decision : null;

    /// <summary>Keeps <paramref name="decision"/> for <see cref="DecisionPoint.CacheFor"/>, when the decision point caches.</summary>
    public void Set(DecisionPoint point, byte[] body, bool decision)
    {
        if (point.CacheFor is not { } lifetime)
        {
            return;
        }

        using var entry = _cache.CreateEntry(Key(point, body));
        entry.Value = decision;
        entry.Size = 1;
        entry.AbsoluteExpirationRelativeToNow = lifetime;
    }

    public void Dispose() => _cache.Dispose();

    private static string Key(DecisionPoint point, byte[] body) =>
        string.Join('\n', point.Tenant, point.Name, point.EvaluationEndpoint.AbsoluteUri, Convert.ToHexString(SHA256.HashData(body)));

    private sealed class Clock(TimeProvider timeProvider) : ISystemClock
    {
        public DateTimeOffset UtcNow => timeProvider.GetUtcNow();
    }
}
