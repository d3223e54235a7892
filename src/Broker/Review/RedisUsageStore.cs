using System.Globalization;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.Policy.Review;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Review;

/// <summary>
/// The counters in Redis, on the grant store's connection: per tenant per UTC day one hash (field
/// <c>capability identity</c>, value the grant count; field <c>#overflow</c> the grants counted past the cap), under
/// the tenant's routing tag like its other keys. A flush sends one small script per tenant-day (at most
/// <see cref="FieldsPerCall"/> fields each), all pipelined on the multiplexer; the script is HINCRBYs plus the cap check
/// and the EXPIRE, so the cap holds exactly under concurrent flushes from several replicas.
/// </summary>
/// <remarks>
/// Separate from the grant record script on purpose: counting never adds work to the exchange's own round trip.
/// Each hash expires <see cref="ReviewOptions.RetentionDays"/> + 1 days after its last write.
/// </remarks>
internal sealed class RedisUsageStore : IUsageStore
{
    /// <summary>Most fields one script call adds, so that no call holds Redis for long.</summary>
    public const int FieldsPerCall = 512;

    /// <summary>The field of a day's hash that counts grants past the cap; it has no space, so it is never a pair.</summary>
    public const string OverflowField = "#overflow";

    // KEYS[1] the day's hash. ARGV[1] the cap of pairs, ARGV[2] the TTL in seconds, ARGV[3] overflow to add,
    // then field, count pairs. A field already present is always incremented; a new one only below the cap.
    private static readonly RedisScript AddScript = new(AddText);

    private const string AddText = """
        local key = KEYS[1]
        local cap = tonumber(ARGV[1])
        local overflow = tonumber(ARGV[3])
        local n = redis.call('HLEN', key)
        if redis.call('HEXISTS', key, '#overflow') == 1 then n = n - 1 end
        for i = 4, #ARGV, 2 do
          local count = tonumber(ARGV[i + 1])
          if n < cap or redis.call('HEXISTS', key, ARGV[i]) == 1 then
            if redis.call('HINCRBY', key, ARGV[i], count) == count then n = n + 1 end
          else
            overflow = overflow + count
          end
        end
        if overflow > 0 then redis.call('HINCRBY', key, '#overflow', overflow) end
        redis.call('EXPIRE', key, ARGV[2])
        return n
        """;

    private readonly RedisStoreConnection _redis;
    private readonly string _prefix;
    private readonly ReviewOptions _options;

    public RedisUsageStore(IConnectionMultiplexer connection, IOptions<RedisOptions> redisOptions, IOptions<ReviewOptions> options, ILogger<RedisUsageStore> logger)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(redisOptions);
        ArgumentNullException.ThrowIfNull(options);
        _redis = new RedisStoreConnection(connection, redisOptions.Value, logger);
        _prefix = redisOptions.Value.KeyPrefix;
        _options = options.Value;
    }

    /// <summary><c>{p}{tag}:u:{len(tenant)}:{tenant}:{yyyyMMdd}</c> — a tenant's grant counts of one UTC day (hash).</summary>
    internal RedisKey DayKey(string tenant, DateOnly day) =>
        $"{_prefix}{{{GrantId.RoutingTag(tenant)}}}:u:{tenant.Length.ToString(CultureInfo.InvariantCulture)}:{tenant}:{day.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}";

    public async ValueTask AddAsync(IReadOnlyList<UsageBatch> batches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var ttl = ((long)TimeSpan.FromDays(_options.RetentionDays + 1).TotalSeconds).ToString(CultureInfo.InvariantCulture);
        var cap = _options.MaxIdentitiesPerDay.ToString(CultureInfo.InvariantCulture);
        var db = _redis.Multiplexer.GetDatabase();
        List<Task> calls = [];
        try
        {
            foreach (var batch in batches)
            {
                var key = DayKey(batch.Tenant, batch.Day);
                var overflow = batch.Overflow;
                foreach (var chunk in batch.Counts.Chunk(FieldsPerCall).DefaultIfEmpty([]))
                {
                    var values = new RedisValue[3 + (chunk.Length * 2)];
                    values[0] = cap;
                    values[1] = ttl;
                    values[2] = overflow;
                    overflow = 0;
                    for (var i = 0; i < chunk.Length; i++)
                    {
                        values[3 + (2 * i)] = chunk[i].Key.Field;
                        values[4 + (2 * i)] = chunk[i].Value;
                    }

                    calls.Add(AddScript.EvaluateAsync(db, [key], values));
                }
            }
        }
        catch (RedisException e)
        {
            throw new GrantStoreUnavailableException("The grant store is unavailable.", e);
        }

        await _redis.BoundAsync(nameof(AddAsync), Task.WhenAll(calls), cancellationToken);
    }

    public async ValueTask<UsageTally> ReadAsync(string tenant, IReadOnlyList<DateOnly> days, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(days);
        var db = _redis.Multiplexer.GetDatabase();
        Task<HashEntry[]>[] reads;
        try
        {
            reads = [.. days.Select(d => db.HashGetAllAsync(DayKey(tenant, d)))];
        }
        catch (RedisException e)
        {
            throw new GrantStoreUnavailableException("The grant store is unavailable.", e);
        }

        var all = await _redis.BoundAsync(nameof(ReadAsync), Task.WhenAll(reads), cancellationToken);
        var tally = new UsageTally();
        foreach (var entry in all.SelectMany(e => e))
        {
            if (!entry.Value.TryParse(out long count) || count <= 0)
            {
                continue;
            }

            if (entry.Name == OverflowField)
            {
                tally.AddOverflow(count);
            }
            else if (UsageKey.TryParse(entry.Name!, out var key))
            {
                tally.Add(key.Capability, key.Identity, count);
            }
        }

        return tally;
    }
}
