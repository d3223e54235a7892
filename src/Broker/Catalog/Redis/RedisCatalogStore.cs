using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Broker.Audit;
using Broker.Grants;
using Broker.Grants.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Catalog.Redis;

/// <summary>
/// The catalog in Redis, on the grant store's connection. Each tenant's entries carry its routing tag, as its grants
/// and streams do, so a write (the entry, the tenant's index of published resources, the withdrawals it appends to the
/// revocation stream, and its audit event) is one script on one slot (<see cref="RedisCatalogScripts.Write"/>),
/// also on Redis Cluster. Key table in <c>docs/architecture.md</c>.
/// </summary>
/// <remarks>
/// Entries have no TTL: a resource's version must only grow, across unpublish and publish; their number is bounded
/// by the resources policy declares. Fails closed like the grant store: any failure or timeout surfaces as
/// <see cref="GrantStoreUnavailableException"/>.
/// </remarks>
internal sealed class RedisCatalogStore : ICatalogStore
{
    private static readonly TimeSpan RevocationStreamIdleLifetime = TimeSpan.FromDays(30);

    private readonly RedisStoreConnection _redis;
    private readonly RedisGrantKeys _grantKeys;
    private readonly string _prefix;
    private readonly GrantsOptions _options;
    private readonly TimeProvider _timeProvider;

    public RedisCatalogStore(IConnectionMultiplexer connection, IOptions<RedisOptions> redisOptions, IOptions<GrantsOptions> options, TimeProvider timeProvider, ILogger<RedisCatalogStore> logger)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(redisOptions);
        ArgumentNullException.ThrowIfNull(options);
        _redis = new RedisStoreConnection(connection, redisOptions.Value, logger);
        _prefix = redisOptions.Value.KeyPrefix;
        _grantKeys = new RedisGrantKeys(_prefix);
        _options = options.Value;
        _timeProvider = timeProvider;
    }

    /// <summary><c>{p}{tag}:ce:{len(tenant)}:{tenant}:{resource}</c> — a resource's entry (hash: <c>v</c> version, <c>d</c> document or empty).</summary>
    internal RedisKey EntryKey(string tenant, string resource) =>
        $"{_prefix}{{{GrantId.RoutingTag(tenant)}}}:ce:{tenant.Length.ToString(CultureInfo.InvariantCulture)}:{tenant}:{resource}";

    /// <summary><c>{p}{tag}:ci:{tenant}</c> — the resources of a tenant with a current publication (set).</summary>
    internal RedisKey IndexKey(string tenant) => $"{_prefix}{{{GrantId.RoutingTag(tenant)}}}:ci:{tenant}";

    public async ValueTask<CatalogEntry?> GetAsync(string tenant, string resource, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        ArgumentException.ThrowIfNullOrEmpty(resource);
        var fields = await _redis.RunAsync(nameof(GetAsync), db => db.HashGetAsync(EntryKey(tenant, resource), ["v", "d"]), cancellationToken);
        if (fields[0].IsNull)
        {
            return null;
        }

        var document = (string?)fields[1];
        return new CatalogEntry((long)fields[0], string.IsNullOrEmpty(document) ? null : Deserialize(document));
    }

    public async ValueTask<IReadOnlyList<Publication>> ListAsync(string tenant, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        var resources = await _redis.RunAsync(nameof(ListAsync), db => db.SetMembersAsync(IndexKey(tenant)), cancellationToken);
        var ordered = resources.Select(r => (string)r!).Order(StringComparer.Ordinal).ToList();
        var documents = ordered.Count == 0
            ? []
            : await _redis.RunAsync(nameof(ListAsync), db => Task.WhenAll(ordered.Select(r => db.HashGetAsync(EntryKey(tenant, r), "d"))), cancellationToken);

        // An entry unpublished between the two reads is simply not listed.
        return [.. documents.Where(d => !d.IsNullOrEmpty).Select(d => Deserialize(d!))];
    }

    public async ValueTask<CatalogWriteResult> PublishAsync(Publication publication, long expectedVersion, IReadOnlyList<CatalogWithdrawal> withdrawals, AuditEvent audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(publication);
        CatalogValidation.ForWrite(publication.Tenant, publication.Resource, expectedVersion, withdrawals, audit);
        if (publication.Version != expectedVersion + 1)
        {
            throw new ArgumentException("A publication's version is the expected version + 1.", nameof(publication));
        }

        var document = JsonSerializer.Serialize(publication, CatalogStoreJsonContext.Default.Publication);
        return await WriteAsync(publication.Tenant, publication.Resource, expectedVersion, document, withdrawals, audit, cancellationToken);
    }

    public ValueTask<CatalogWriteResult> UnpublishAsync(string tenant, string resource, long expectedVersion, IReadOnlyList<CatalogWithdrawal> withdrawals, AuditEvent audit, CancellationToken cancellationToken)
    {
        CatalogValidation.ForWrite(tenant, resource, expectedVersion, withdrawals, audit);
        return WriteAsync(tenant, resource, expectedVersion, "", withdrawals, audit, cancellationToken);
    }

    private async ValueTask<CatalogWriteResult> WriteAsync(string tenant, string resource, long expectedVersion, string document, IReadOnlyList<CatalogWithdrawal> withdrawals, AuditEvent audit, CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        var tag = GrantId.RoutingTag(tenant);
        RedisKey[] keys = [EntryKey(tenant, resource), IndexKey(tenant), _grantKeys.RevocationStream(tag), _grantKeys.AuditStream(tag)];
        var args = new List<RedisValue>
        {
            expectedVersion,
            document,
            resource,
            now.ToUnixTimeMilliseconds(),
            _options.RevocationStreamMaxLength,
            RedisStoreConnection.MinId(now, _options.RevocationStreamRetention),
            (long)(_options.RevocationStreamRetention + RevocationStreamIdleLifetime).TotalMilliseconds,
            RedisAuditTrail.Serialize(audit),
            _options.AuditMaxLength,
            RedisStoreConnection.MinId(now, _options.AuditRetention),
            (long)_options.AuditRetention.TotalMilliseconds,
            _grantKeys.RevocationChannel.ToString(),
            tenant,
        };
        foreach (var withdrawal in withdrawals)
        {
            args.Add(withdrawal.Withdrawal.Capability);
            args.Add(withdrawal.KeepUntil.ToUnixTimeMilliseconds());
        }

        var result = (RedisResult[])(await _redis.EvaluateAsync(nameof(PublishAsync), RedisCatalogScripts.Write, keys, [.. args], cancellationToken))!;
        if ((int)result[0] == 0)
        {
            return new CatalogWriteResult.VersionMismatch((long)result[1]);
        }

        // Replicated before it is reported, when so configured (as a revocation): a withdrawal must not be lost in a failover.
        await _redis.WaitForReplicasAsync(keys[0], nameof(PublishAsync), cancellationToken);
        var at = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
        var positions = (RedisResult[])result[2]!;
        var announced = withdrawals.Select((w, i) => RevocationEntry.Withdrawn(Grants.StreamPosition.Parse((string)positions[i]!), tenant, w.Withdrawal, at, w.KeepUntil)).ToList();
        return new CatalogWriteResult.Written((long)result[1], announced);
    }

    private static Publication Deserialize(string document) =>
        JsonSerializer.Deserialize(document, CatalogStoreJsonContext.Default.Publication)
            ?? throw new InvalidOperationException("A stored catalog entry is malformed.");
}

/// <summary>The catalog's Lua scripts.</summary>
internal static class RedisCatalogScripts
{
    /// <summary>
    /// Publishes or unpublishes one resource, compare-and-set on its version. KEYS: entry, tenant index, revocation
    /// stream, audit stream. ARGV: expected version, document (empty to unpublish), resource, now (Unix ms), stream
    /// MAXLEN, stream MINID, stream TTL ms, audit document, audit MAXLEN, audit MINID, audit TTL ms, channel, tenant,
    /// then per withdrawn capability its name and keep-until (Unix ms). Returns {0, current version} when the entry is
    /// not at the expected version (nothing written), else {1, new version, {stream positions}}.
    /// </summary>
    /// <remarks>
    /// A withdrawal is a revocation stream entry with <c>w</c> (capability) and <c>r</c> (resource) instead of
    /// <c>g</c> (grant), read by <see cref="RedisRevocationStream"/>; its announcement carries the same members.
    /// </remarks>
    public static readonly RedisScript Write = new(WriteText);

    private const string WriteText = """
        local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
        if current ~= tonumber(ARGV[1]) then
          return {0, current}
        end
        local version = current + 1
        redis.call('HSET', KEYS[1], 'v', version, 'd', ARGV[2])
        if ARGV[2] == '' then
          redis.call('SREM', KEYS[2], ARGV[3])
        else
          redis.call('SADD', KEYS[2], ARGV[3])
        end
        local positions = {}
        if #ARGV > 13 then
          -- As in the revoke script: trimming by age never removes the newest entry from before this call.
          local minId = ARGV[6]
          local newest = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)[1]
          if newest and tonumber(string.match(newest[1], '^(%d+)')) < tonumber(minId) then
            minId = newest[1]
          end
          for i = 14, #ARGV, 2 do
            local position = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*',
              'w', ARGV[i], 'r', ARGV[3], 't', ARGV[13], 'at', ARGV[4], 'e', ARGV[i + 1])
            redis.call('PUBLISH', ARGV[12], cjson.encode({p = position, t = ARGV[13], at = tonumber(ARGV[4]),
              e = tonumber(ARGV[i + 1]), w = ARGV[i], r = ARGV[3]}))
            positions[#positions + 1] = position
          end
          redis.call('XTRIM', KEYS[3], 'MINID', '~', minId)
          redis.call('PEXPIRE', KEYS[3], ARGV[7])
        end
        redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[9], '*', 'e', ARGV[8])
        redis.call('XTRIM', KEYS[4], 'MINID', '~', ARGV[10])
        redis.call('PEXPIRE', KEYS[4], ARGV[11])
        return {1, version, positions}
        """;
}

/// <summary>The stored form of a publication.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Publication))]
internal sealed partial class CatalogStoreJsonContext : JsonSerializerContext;
