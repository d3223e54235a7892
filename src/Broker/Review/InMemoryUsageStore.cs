using System.Collections.Concurrent;
using Broker.Policy.Review;
using Microsoft.Extensions.Options;

namespace Broker.Review;

/// <summary>
/// The counters in memory, for a broker without Redis: the same bounds as <see cref="RedisUsageStore"/> (a cap on
/// distinct pairs per tenant-day with an overflow count; days older than the retention dropped on each write).
/// </summary>
internal sealed class InMemoryUsageStore(IOptions<ReviewOptions> options, TimeProvider timeProvider) : IUsageStore
{
    private readonly ConcurrentDictionary<(string Tenant, DateOnly Day), DayCounts> _days = new();

    public ValueTask AddAsync(IReadOnlyList<UsageBatch> batches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var cap = options.Value.MaxIdentitiesPerDay;
        foreach (var batch in batches)
        {
            var day = _days.GetOrAdd((batch.Tenant, batch.Day), static _ => new DayCounts());
            lock (day)
            {
                foreach (var (key, count) in batch.Counts)
                {
                    if (day.Counts.ContainsKey(key) || day.Counts.Count < cap)
                    {
                        day.Counts[key] = day.Counts.GetValueOrDefault(key) + count;
                    }
                    else
                    {
                        day.Overflow += count;
                    }
                }

                day.Overflow += batch.Overflow;
            }
        }

        // Retention: the window's days plus one, as the Redis hashes' expiry.
        var oldest = DateOnly.FromDateTime(timeProvider.GetUtcNow().UtcDateTime).AddDays(-options.Value.RetentionDays);
        foreach (var key in _days.Keys.Where(k => k.Day < oldest))
        {
            _days.TryRemove(key, out _);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<UsageTally> ReadAsync(string tenant, IReadOnlyList<DateOnly> days, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(days);
        var tally = new UsageTally();
        foreach (var date in days)
        {
            if (!_days.TryGetValue((tenant, date), out var day))
            {
                continue;
            }

            lock (day)
            {
                foreach (var (key, count) in day.Counts)
                {
                    tally.Add(key.Capability, key.Identity, count);
                }

                tally.AddOverflow(day.Overflow);
            }
        }

        return ValueTask.FromResult(tally);
    }

    private sealed class DayCounts
    {
        public Dictionary<UsageKey, long> Counts { get; } = [];

        public long Overflow { get; set; }
    }
}
