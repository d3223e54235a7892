using Broker.Audit;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// The production grant store: Redis (standalone, Sentinel or Cluster) through one shared
/// <see cref="IConnectionMultiplexer"/>. Each concern has a class of its own, which this one puts together:
/// <see cref="RedisGrantRecords"/> (record, read), <see cref="RedisGrantRevocations"/>, <see cref="RedisGrantListing"/>,
/// <see cref="RedisRevocationStream"/> (the stream and the live announcements), <see cref="RedisAuditTrail"/> and
/// <see cref="RedisReadiness"/>; the stored form of a grant is <see cref="RedisGrantRecordCodec"/>'s. Key layout in <see cref="RedisGrantKeys"/> and <c>docs/architecture.md</c>; the
/// atomic steps are the scripts in <see cref="RedisGrantScripts"/>.
/// </summary>
/// <remarks>
/// Fails closed: every call waits at most <see cref="RedisOptions.OperationTimeout"/>, and any Redis failure or
/// timeout surfaces as <see cref="GrantStoreUnavailableException"/>, never as a Redis exception
/// (<see cref="RedisStoreConnection"/>). A write that timed out may still have been applied (Redis had it but the reply
/// was lost): for a grant that is harmless, the token was not returned and the orphan record expires with its TTL.
/// </remarks>
internal sealed class RedisGrantStore : IGrantStore, IAsyncDisposable
{
    private readonly RedisGrantRecords _records;
    private readonly RedisGrantRevocations _revocations;
    private readonly RedisGrantListing _listing;
    private readonly RedisRevocationStream _stream;
    private readonly RedisAuditTrail _audit;
    private readonly RedisReadiness _readiness;
    private readonly GrantStoreTelemetry _telemetry;

    public RedisGrantStore(
        IConnectionMultiplexer connection,
        IOptions<RedisOptions> redisOptions,
        IOptions<GrantsOptions> options,
        TimeProvider timeProvider,
        ILogger<RedisGrantStore> logger)
        : this(connection, redisOptions, options, Options.Create(new StatusListOptions()), timeProvider, logger)
    {
    }

    public RedisGrantStore(
        IConnectionMultiplexer connection,
        IOptions<RedisOptions> redisOptions,
        IOptions<GrantsOptions> options,
        IOptions<StatusListOptions> statusList,
        TimeProvider timeProvider,
        ILogger<RedisGrantStore> logger)
        : this(connection, redisOptions, options, statusList, timeProvider, logger, GrantStoreTelemetry.None)
    {
    }

    public RedisGrantStore(
        IConnectionMultiplexer connection,
        IOptions<RedisOptions> redisOptions,
        IOptions<GrantsOptions> options,
        IOptions<StatusListOptions> statusList,
        TimeProvider timeProvider,
        ILogger<RedisGrantStore> logger,
        GrantStoreTelemetry telemetry)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(redisOptions);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(statusList);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(telemetry);
        _telemetry = telemetry;
        var redis = new RedisStoreConnection(connection, redisOptions.Value, logger);
        var keys = new RedisGrantKeys(redisOptions.Value.KeyPrefix);
        var codec = new RedisGrantRecordCodec(options.Value.Retention);
        var groupCommit = new RedisGroupCommit(redis, keys, redisOptions.Value.MaxRecordBatch, redisOptions.Value.RecordCallsInFlight, telemetry);
        _records = new RedisGrantRecords(redis, keys, codec, options.Value, statusList.Value, timeProvider, groupCommit, telemetry);
        _listing = new RedisGrantListing(redis, keys, _records, timeProvider);
        _revocations = new RedisGrantRevocations(redis, keys, codec, _listing, options.Value, timeProvider, logger);
        _stream = new RedisRevocationStream(redis, keys, logger);
        _audit = new RedisAuditTrail(redis, keys, options.Value, timeProvider);
        _readiness = new RedisReadiness(redis, logger);
    }

    public async ValueTask<RecordGrantResult> RecordAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken)
        => (await RecordWithStatusAsync(grant, issued, cancellationToken)).Result;

    public ValueTask<RecordGrantOutcome> RecordWithStatusAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.Record, () => _records.RecordAsync(grant, issued, cancellationToken));

    public ValueTask<byte[]?> ReadStatusListAsync(string tenant, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.ReadStatusList, () => _records.ReadStatusListAsync(tenant, cancellationToken));

    public ValueTask<GrantRecord?> FindAsync(string grantId, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.Find, () => _records.FindAsync(grantId, cancellationToken));

    public ValueTask<GrantState> GetStateAsync(string grantId, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.GetState, () => _records.GetStateAsync(grantId, cancellationToken));

    public async ValueTask<bool> IsRevokedAsync(string grantId, CancellationToken cancellationToken)
        => await GetStateAsync(grantId, cancellationToken) == GrantState.Revoked;

    public ValueTask AppendAuditAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.AppendAudit, () => _audit.AppendAsync(auditEvent, cancellationToken));

    public ValueTask<IReadOnlyList<AuditEvent>> ReadAuditAsync(string? tenant, int count, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.ReadAudit, () => _audit.ReadAsync(tenant, count, cancellationToken));

    public async ValueTask<RevokeResult> RevokeAsync(string grantId, string revokedBy, string reason, CancellationToken cancellationToken)
    {
        var result = await _telemetry.MeasureAsync(GrantStoreOperation.Revoke, () => _revocations.RevokeAsync(grantId, revokedBy, reason, cancellationToken));
        _telemetry.Revoked(result);
        return result;
    }

    public async ValueTask<int> RevokeAllAsync(GrantQuery query, string revokedBy, string reason, CancellationToken cancellationToken)
    {
        var count = await _telemetry.MeasureAsync(GrantStoreOperation.RevokeAll, () => _revocations.RevokeAllAsync(query, revokedBy, reason, cancellationToken));
        _telemetry.RevokedInBulk(count);
        return count;
    }

    public ValueTask<GrantPage> ListAsync(GrantQuery query, string? cursor, int pageSize, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.List, () => _listing.ListAsync(query, cursor, pageSize, cancellationToken));

    public ValueTask<RevocationPage> ReadRevocationsAsync(string tenant, StreamPosition? afterPosition, int count, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.ReadRevocations, () => _stream.ReadAsync(tenant, afterPosition, count, cancellationToken));

    public ValueTask<StreamPosition> GetRevocationPositionAsync(string tenant, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.GetRevocationPosition, () => _stream.GetPositionAsync(tenant, cancellationToken));

    public ValueTask<RevocationSubscription> SubscribeRevocationsAsync(CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.SubscribeRevocations, () => _stream.SubscribeAsync(cancellationToken));

    public ValueTask<bool> IsReadyAsync(CancellationToken cancellationToken) => _readiness.IsReadyAsync(cancellationToken);

    public ValueTask DisposeAsync() => _stream.DisposeAsync();
}
