using System.Globalization;
using System.Text.Json;
using Broker.Audit;
using Broker.StatusList;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Grants;

/// <summary>
/// The production grant store: Redis (standalone, Sentinel or Cluster) through one shared
/// <see cref="IConnectionMultiplexer"/>. Key layout in <see cref="RedisGrantKeys"/> and <c>docs/architecture.md</c>;
/// the atomic steps are the scripts in <see cref="RedisGrantScripts"/>.
/// </summary>
/// <remarks>
/// Fails closed: every call waits at most <see cref="RedisOptions.OperationTimeout"/>, and any Redis failure or
/// timeout surfaces as <see cref="GrantStoreUnavailableException"/>, never as a Redis exception. A write that timed
/// out may still have been applied (Redis had it but the reply was lost): for a grant that is harmless, the token
/// was not returned and the orphan record expires with its TTL.
/// </remarks>
internal sealed class RedisGrantStore : IGrantStore, IAsyncDisposable
{
    private const int BulkBatchSize = 200;
    private const int MaxReadRounds = 10;

    /// <summary>
    /// Most hash fields of one string dictionary (two per string, plus the counter). It bounds what a tenant can
    /// pin in memory with strings that never repeat (a fresh purpose per task, say): past it, strings are stored in
    /// the record instead, as without a dictionary.
    /// </summary>
    private const int DictionaryCapacity = 8193;

    /// <summary>
    /// How long a revocation stream outlives its last append. The stream keeps its newest entry whatever its age,
    /// so a caught-up reader resumes without a resynchronisation after a quiet period up to this long; after it,
    /// the stream of an abandoned tenant goes away.
    /// </summary>
    private static readonly TimeSpan RevocationStreamIdleLifetime = TimeSpan.FromDays(30);

    private readonly IConnectionMultiplexer _connection;
    private readonly RedisGrantKeys _keys;
    private readonly GrantsOptions _options;
    private readonly StatusListOptions _statusList;
    private readonly TimeSpan _timeout;
    private readonly int _waitForReplicas;
    private readonly long _waitForReplicasTimeoutMs;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly RevocationBroadcaster _broadcaster = new();
    private readonly SemaphoreSlim _subscribeLock = new(1, 1);
    private bool _subscribed;

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
    {
        ArgumentNullException.ThrowIfNull(statusList);
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(redisOptions);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _connection = connection;
        _keys = new RedisGrantKeys(redisOptions.Value.KeyPrefix);
        _timeout = redisOptions.Value.OperationTimeout;
        _waitForReplicas = redisOptions.Value.WaitForReplicas;
        _waitForReplicasTimeoutMs = (long)redisOptions.Value.WaitForReplicasTimeout.TotalMilliseconds;
        _options = options.Value;
        _statusList = statusList.Value;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The StackExchange.Redis settings for <paramref name="options"/>: bounded waits, no abort when Redis is down at start.</summary>
    internal static ConfigurationOptions CreateConfiguration(RedisOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var configuration = ConfigurationOptions.Parse(options.Configuration ?? string.Empty);

        // Start even when Redis is down (readiness reports it; calls fail closed) and keep reconnecting.
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds;

        // The library's own limits match ours, so a queued command is failed by the library, not left running.
        configuration.AsyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        configuration.SyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        configuration.ClientName ??= "broker";
        return configuration;
    }

    public async ValueTask<RecordGrantResult> RecordAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken)
        => (await RecordWithStatusAsync(grant, issued, cancellationToken)).Result;

    public async ValueTask<RecordGrantOutcome> RecordWithStatusAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        GrantValidation.ForRecord(grant, issued, now);
        var tag = GrantId.RoutingTag(grant.Tenant);

        var expiry = grant.ExpiresAt.ToUnixTimeMilliseconds();
        var ttl = (long)(grant.ExpiresAt - now + _options.Retention).TotalMilliseconds;
        var plan = StatusIndexing.Plan(_statusList, expiry, now.ToUnixTimeMilliseconds());
        RedisKey[] keys =
        [
            _keys.Grant(tag, grant.Id),
            _keys.TenantIndex(tag, grant.Tenant),
            _keys.SubjectIndex(tag, grant.Tenant, grant.Subject),
            _keys.TaskIndex(tag, grant.Tenant, grant.TaskId),
            _keys.AuditStream(tag),
            _keys.Dictionary(tag, RedisGrantRecordFormat.DictionaryNumber(expiry)),
            _keys.StatusBits(tag, grant.Tenant),
            _keys.StatusQueue(tag, grant.Tenant),
            _keys.StatusOrder(tag, grant.Tenant),

            // The parent's keys are on the same slot: ForRecord checked that the parent ID has the grant's tag.
            .. grant.ParentGrantId is { } parent
                ? new[] { _keys.Grant(tag, parent), _keys.Revocation(tag, parent), _keys.Children(tag, parent), _keys.Dictionary(tag, 0), _keys.Dictionary(tag, 1) }
                : [],
        ];
        RedisValue[] args =
        [
            Math.Max(ttl, 1),
            expiry,
            IndexMember(grant.Id),
            now.ToUnixTimeMilliseconds(),
            JsonSerializer.Serialize(AuditDocument.From(issued), GrantsJsonContext.Compact.AuditDocument),
            _options.AuditMaxLength,
            MinId(now, _options.AuditRetention),
            (long)_options.AuditRetention.TotalMilliseconds,
            DictionaryCapacity,
            .. RedisGrantRecordFormat.Fields(grant, now.ToUnixTimeMilliseconds(), (long)_options.Retention.TotalMilliseconds),
            RedisGrantRecordFormat.InlineChildren,
            plan.Capacity,
            plan.ReusableAt,
            plan.Step,
            plan.QuarantineUntil,
            plan.StateLifetime,
        ];
        var reply = (RedisResult[])(await RunAsync(nameof(RecordAsync), db => db.ScriptEvaluateAsync(RedisGrantScripts.Record, keys, args), cancellationToken))!;
        switch ((int)reply[0])
        {
            case 1:
                break;
            case 2:
                return new RecordGrantOutcome(RecordGrantResult.ParentNotActive, null);
            case 3:
                throw new ArgumentException("The parent grant belongs to another tenant.", nameof(grant));
            case 4:
                return new RecordGrantOutcome(RecordGrantResult.StatusListFull, null);
            default:
                // A 128-bit random ID never collides by chance; a duplicate is a bug upstream.
                throw new InvalidOperationException($"Grant '{grant.Id}' is already recorded.");
        }

        await WaitForReplicasAsync(tag, nameof(RecordAsync), cancellationToken);
        return new RecordGrantOutcome(RecordGrantResult.Recorded, reply.Length > 1 && !reply[1].IsNull ? (int)reply[1] : null);
    }

    public async ValueTask<byte[]?> ReadStatusListAsync(string tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var key = _keys.StatusBits(GrantId.RoutingTag(tenant), tenant);
        var bits = await RunAsync(nameof(ReadStatusListAsync), db => db.StringGetAsync(key), cancellationToken);
        return bits.IsNull ? null : (byte[])bits!;
    }

    public async ValueTask<GrantRecord?> FindAsync(string grantId, CancellationToken cancellationToken)
    {
        var (grant, _) = await ReadAsync(grantId, nameof(FindAsync), cancellationToken);
        return grant is not null && grant.ExpiresAt > _timeProvider.GetUtcNow() ? grant : null;
    }

    public async ValueTask AppendAuditAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        var now = _timeProvider.GetUtcNow();
        var global = string.IsNullOrEmpty(auditEvent.Tenant);
        RedisKey[] keys = [global ? _keys.GlobalAuditStream : _keys.AuditStream(GrantId.RoutingTag(auditEvent.Tenant!))];
        RedisValue[] args =
        [
            JsonSerializer.Serialize(AuditDocument.From(auditEvent), GrantsJsonContext.Compact.AuditDocument),
            global ? _options.GlobalAuditMaxLength : _options.AuditMaxLength,
            MinId(now, _options.AuditRetention),
            (long)_options.AuditRetention.TotalMilliseconds,
        ];
        await RunAsync(nameof(AppendAuditAsync), db => db.ScriptEvaluateAsync(RedisGrantScripts.AppendAudit, keys, args), cancellationToken);
    }

    public async ValueTask<GrantState> GetStateAsync(string grantId, CancellationToken cancellationToken)
    {
        var (grant, known) = await ReadAsync(grantId, nameof(GetStateAsync), cancellationToken);
        return !known ? GrantState.Unknown
            : grant!.Status == GrantStatus.Revoked ? GrantState.Revoked
            : grant.ExpiresAt > _timeProvider.GetUtcNow() ? GrantState.Active
            : GrantState.Expired;
    }

    public async ValueTask<bool> IsRevokedAsync(string grantId, CancellationToken cancellationToken)
        => await GetStateAsync(grantId, cancellationToken) == GrantState.Revoked;

    public async ValueTask<RevokeResult> RevokeAsync(string grantId, string revokedBy, string reason, CancellationToken cancellationToken)
    {
        GrantValidation.ForRevocation(revokedBy, reason);
        if (!GrantId.TryGetRoutingTag(grantId, out var tag))
        {
            return GrantNotFound.Instance;
        }

        var result = (await RevokeBatchAsync(tag, [grantId], revokedBy, reason, cancellationToken))[0];
        if (result is Revoked revoked)
        {
            Log.GrantRevoked(_logger, grantId, revoked.Entry.Tenant, revokedBy);
            if (revoked.Descendants.Count > 0)
            {
                Log.DescendantsRevoked(_logger, revoked.Descendants.Count, grantId, revoked.Entry.Tenant);
            }
        }

        return result;
    }

    public async ValueTask<int> RevokeAllAsync(GrantQuery query, string revokedBy, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        GrantValidation.ForRevocation(revokedBy, reason);

        // Batches keep each script short: a script blocks the whole Redis node while it runs. Each grant's
        // revocation is atomic; the bulk is not. Revoked grants stay in the index, so the cursor stays valid.
        var tag = GrantId.RoutingTag(query.Tenant);
        var index = _keys.Index(query);
        var count = 0;
        string? cursor = null;
        while (true)
        {
            var ids = await PageIdsAsync(tag, index, cursor, BulkBatchSize, cancellationToken);
            if (ids.Count == 0)
            {
                break;
            }

            var results = await RevokeBatchAsync(tag, ids, revokedBy, reason, cancellationToken);
            count += results.Sum(r => r is Revoked revoked ? 1 + revoked.Descendants.Count : 0);
            cursor = ids[^1];
        }

        Log.GrantsRevokedInBulk(_logger, count, query.Tenant, revokedBy, query.Subject, query.TaskId);
        return count;
    }

    public async ValueTask<GrantPage> ListAsync(GrantQuery query, string? cursor, int pageSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        GrantValidation.ForCount(pageSize, GrantQuery.MaxPageSize);
        var tag = GrantId.RoutingTag(query.Tenant);
        if (cursor is not null && (!GrantId.TryGetRoutingTag(cursor, out var cursorTag) || !string.Equals(cursorTag, tag, StringComparison.Ordinal)))
        {
            throw new ArgumentException("Not a cursor of this listing.", nameof(cursor));
        }

        // One more than asked tells whether there is a next page.
        var ids = await PageIdsAsync(tag, _keys.Index(query), cursor, pageSize + 1, cancellationToken);
        var more = ids.Count > pageSize;
        if (more)
        {
            ids.RemoveAt(ids.Count - 1);
        }

        if (ids.Count == 0)
        {
            return new GrantPage([], null);
        }

        var rows = await ReadRecordsAsync(nameof(ListAsync), tag, ids, cancellationToken);
        List<GrantRecord> grants = new(ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            if (ToRecord(ids[i], rows[i]) is { } grant)
            {
                grants.Add(grant);
            }
        }

        return new GrantPage(grants, more ? ids[^1] : null);
    }

    public async ValueTask<RevocationPage> ReadRevocationsAsync(string tenant, StreamPosition? afterPosition, int count, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        GrantValidation.ForCount(count);

        // The stream is shared by the tenants of one routing tag; entries of other tenants are skipped, and the
        // position still advances past them so a reader never rereads them.
        var key = _keys.RevocationStream(GrantId.RoutingTag(tenant));
        List<RevocationEntry> entries = [];
        var position = afterPosition;
        var lost = false;
        for (var round = 0; round < MaxReadRounds && entries.Count < count; round++)
        {
            var wanted = count - entries.Count;
            var min = position is null ? "-" : "(" + position;

            // Nothing follows the largest ID, and Redis refuses an exclusive range that starts there.
            var read = position == StreamPosition.MaxValue
                ? Task.FromResult(Array.Empty<StreamEntry>())
                : RunAsync(nameof(ReadRevocationsAsync), db => db.StreamRangeAsync(key, min, "+", wanted), cancellationToken);
            if (round == 0 && afterPosition is { } after)
            {
                // Asked after the read on the same connection, so Redis answers it after the XRANGE: a trim in
                // between can only make the answer more cautious, never hide a loss.
                lost = await HistoryLostAsync(key, after, cancellationToken);
            }

            var entriesRead = await read;
            foreach (var entry in entriesRead)
            {
                var id = StreamPosition.Parse(entry.Id!);
                position = id;
                if (string.Equals(entry["t"].ToString(), tenant, StringComparison.Ordinal))
                {
                    var expiry = entry["e"];
                    entries.Add(new RevocationEntry(
                        id, entry["g"].ToString(), tenant, DateTimeOffset.FromUnixTimeMilliseconds((long)entry["at"]))
                    {
                        ExpiresAt = expiry.IsNull
                            ? throw new InvalidOperationException("A stored revocation entry is malformed.")
                            : DateTimeOffset.FromUnixTimeMilliseconds((long)expiry),
                    });
                }
            }

            if (entriesRead.Length < wanted)
            {
                // The end of the stream.
                break;
            }
        }

        return new RevocationPage(entries, position, lost);
    }

    /// <summary>
    /// Whether entries after <paramref name="afterPosition"/> may be gone (see <see cref="RedisGrantScripts.HistoryLost"/>):
    /// trimmed, or lost with the data. Exact where it can be, cautious where it cannot (a position trimmed right
    /// before the first retained entry still reads as a loss).
    /// </summary>
    private async Task<bool> HistoryLostAsync(RedisKey key, StreamPosition afterPosition, CancellationToken cancellationToken)
    {
        var lost = await RunAsync(nameof(ReadRevocationsAsync), db => db.ScriptEvaluateAsync(RedisGrantScripts.HistoryLost, [key], [afterPosition.ToString()]), cancellationToken);
        return (int)lost != 0;
    }

    public async ValueTask<StreamPosition> GetRevocationPositionAsync(string tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var key = _keys.RevocationStream(GrantId.RoutingTag(tenant));
        var position = await RunAsync(nameof(GetRevocationPositionAsync), db => db.ScriptEvaluateAsync(RedisGrantScripts.StreamPosition, [key]), cancellationToken);
        return (string?)position is { } newest ? StreamPosition.Parse(newest) : StreamPosition.Start;
    }

    public async ValueTask<IReadOnlyList<AuditEvent>> ReadAuditAsync(string? tenant, int count, CancellationToken cancellationToken)
    {
        GrantValidation.ForCount(count);
        var key = string.IsNullOrEmpty(tenant) ? _keys.GlobalAuditStream : _keys.AuditStream(GrantId.RoutingTag(tenant));
        List<AuditEvent> events = [];
        string? before = null;
        for (var round = 0; round < MaxReadRounds && events.Count < count; round++)
        {
            var max = before is null ? "+" : "(" + before;
            var wanted = count - events.Count;
            var read = await RunAsync(nameof(ReadAuditAsync), db => db.StreamRangeAsync(key, "-", max, wanted, Order.Descending), cancellationToken);
            foreach (var entry in read)
            {
                before = entry.Id.ToString();
                var auditEvent = JsonSerializer.Deserialize((string)entry["e"]!, GrantsJsonContext.Compact.AuditDocument)?.ToEvent();
                if (auditEvent is not null && string.Equals(auditEvent.Tenant ?? string.Empty, tenant ?? string.Empty, StringComparison.Ordinal))
                {
                    events.Add(auditEvent);
                }
            }

            if (read.Length < wanted)
            {
                // The start of the stream.
                break;
            }
        }

        return events;
    }

    public async ValueTask<RevocationSubscription> SubscribeRevocationsAsync(CancellationToken cancellationToken)
    {
        await _subscribeLock.WaitAsync(cancellationToken);
        try
        {
            if (!_subscribed)
            {
                // One channel subscription per store, fanned out locally: the multiplexer keeps it alive and
                // resubscribes after a reconnect. Announcements published while disconnected are lost (pub/sub is
                // at-most-once); readers recover them from the revocation stream.
                var subscriber = _connection.GetSubscriber();
                await Bound(nameof(SubscribeRevocationsAsync), subscriber.SubscribeAsync(_keys.RevocationChannel, OnNotice), cancellationToken);
                _subscribed = true;
                Log.RevocationChannelSubscribed(_logger, _keys.RevocationChannel.ToString());
            }

            return _broadcaster.Add(static _ => ValueTask.CompletedTask);
        }
        finally
        {
            _subscribeLock.Release();
        }
    }

    public async ValueTask<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            var servers = _connection.GetServers();
            var primaries = servers.Where(s => !s.IsReplica).ToList();
            if (servers.Any(s => s.ServerType == ServerType.Cluster))
            {
                // Every primary must answer: on a cluster, any one of them down makes some tenants unavailable.
                if (primaries.Count == 0 || primaries.Any(s => !s.IsConnected))
                {
                    return false;
                }

                await Bound(nameof(IsReadyAsync), Task.WhenAll(primaries.Select(s => s.PingAsync())), cancellationToken);
                return true;
            }

            // Standalone or Sentinel: the primary the writes go to must answer, not every endpoint still marked
            // primary. After a Sentinel failover the crashed primary stays in the list, disconnected and marked
            // primary, until it comes back as a replica: counting it would keep every replica of the broker out
            // of service while the promoted primary takes writes.
            if (!primaries.Any(s => s.IsConnected))
            {
                return false;
            }

            await RunAsync(nameof(IsReadyAsync), db => db.PingAsync(CommandFlags.DemandMaster), cancellationToken);
            return true;
        }
        catch (GrantStoreUnavailableException e)
        {
            Log.ReadinessProbeFailed(_logger, e);
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_subscribed)
        {
            try
            {
                await _connection.GetSubscriber().UnsubscribeAsync(_keys.RevocationChannel, OnNotice).WaitAsync(_timeout);
            }
            catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
            {
                // Shutting down: the connection going away ends the subscription anyway.
            }
        }

        _subscribeLock.Dispose();
    }

    private void OnNotice(RedisChannel channel, RedisValue message)
    {
        try
        {
            var notice = JsonSerializer.Deserialize((string)message!, GrantsJsonContext.Compact.RevocationNotice);
            if (notice is null || !StreamPosition.TryParse(notice.Position, out var position) || !GrantId.IsWellFormed(notice.GrantId)
                || notice.ExpiresAt is not { } expiry)
            {
                Log.RevocationNoticeMalformed(_logger, null);
                return;
            }

            _broadcaster.Publish(new RevocationEntry(
                position, notice.GrantId, notice.Tenant, DateTimeOffset.FromUnixTimeMilliseconds(notice.RevokedAt))
            {
                ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(expiry),
            });
        }
        catch (JsonException e)
        {
            Log.RevocationNoticeMalformed(_logger, e);
        }
    }

    private async Task<IReadOnlyList<RevokeResult>> RevokeBatchAsync(
        string tag, List<string> ids, string revokedBy, string reason, CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        var keys = new RedisKey[4 + (2 * ids.Count)];
        keys[0] = _keys.RevocationStream(tag);
        keys[1] = _keys.AuditStream(tag);
        keys[2] = _keys.Dictionary(tag, 0);
        keys[3] = _keys.Dictionary(tag, 1);
        var args = new RedisValue[12 + ids.Count];
        args[0] = now.ToUnixTimeMilliseconds();
        args[1] = revokedBy;
        args[2] = reason;
        args[3] = _options.RevocationStreamMaxLength;
        args[4] = MinId(now, _options.RevocationStreamRetention);
        args[5] = (long)(_options.RevocationStreamRetention + RevocationStreamIdleLifetime).TotalMilliseconds;
        args[6] = _options.AuditMaxLength;
        args[7] = MinId(now, _options.AuditRetention);
        args[8] = (long)_options.AuditRetention.TotalMilliseconds;
        args[9] = _keys.RevocationChannel.ToString();
        args[10] = _keys.TagBase(tag);
        args[11] = tag;
        for (var i = 0; i < ids.Count; i++)
        {
            keys[4 + (2 * i)] = _keys.Grant(tag, ids[i]);
            keys[5 + (2 * i)] = _keys.Revocation(tag, ids[i]);
            args[12 + i] = ids[i];
        }

        var reply = await RunAsync(nameof(RevokeAsync), db => db.ScriptEvaluateAsync(RedisGrantScripts.Revoke, keys, args), cancellationToken);
        var rows = (RedisResult[])reply!;

        // Replicated before it is reported, when so configured: an admin told "revoked" must not see the grant come
        // back after a failover. Already revoked counts too: this may be the retry of a call whose WAIT fell short.
        if (rows.Any(r => (int)((RedisResult[])r!)[0] != 0))
        {
            await WaitForReplicasAsync(tag, nameof(RevokeAsync), cancellationToken);
        }

        var revokedAt = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
        var results = new RevokeResult[ids.Count];
        for (var i = 0; i < ids.Count; i++)
        {
            var row = (RedisResult[])rows[i]!;
            results[i] = (int)row[0] switch
            {
                1 => new Revoked(Entry((string)row[1]!, ids[i], (string)row[2]!, (long)row[3]))
                {
                    Descendants = [.. ((RedisResult[])row[4]!).Select(d => (RedisResult[])d!).Select(d => Entry((string)d[1]!, (string)d[0]!, (string)d[2]!, (long)d[3]))],
                },
                2 => new AlreadyRevoked(ParseRevocation((string)row[1]!)),
                _ => GrantNotFound.Instance,
            };
        }

        return results;

        RevocationEntry Entry(string position, string grantId, string tenant, long expiry)
            => new(StreamPosition.Parse(position), grantId, tenant, revokedAt) { ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(expiry) };
    }

    /// <summary>
    /// With <see cref="RedisOptions.WaitForReplicas"/> set, waits (Redis <c>WAIT</c>) until that many replicas of the
    /// tag's primary have every write this connection made so far, and fails closed when fewer acknowledge within
    /// <see cref="RedisOptions.WaitForReplicasTimeout"/>. WAIT covers the writes of the connection it is sent on, so it
    /// goes to the server of the tag's slot, over the connection the script just used.
    /// </summary>
    private async Task WaitForReplicasAsync(string tag, string operation, CancellationToken cancellationToken)
    {
        if (_waitForReplicas == 0)
        {
            return;
        }

        long acknowledged;
        try
        {
            var server = _connection.GetServer(_keys.RevocationStream(tag));
            acknowledged = (long)await Bound(operation, server.ExecuteAsync("WAIT", _waitForReplicas, _waitForReplicasTimeoutMs), cancellationToken);
        }
        catch (RedisException e)
        {
            Log.GrantStoreUnavailable(_logger, operation, e);
            throw new GrantStoreUnavailableException("The grant store is unavailable.", e);
        }

        if (acknowledged < _waitForReplicas)
        {
            // The write stands on the primary but may not survive a failover: report it as not done. A grant's token
            // is then never returned (the orphan record expires with its TTL); a revocation is retried by its caller.
            Log.ReplicasDidNotAcknowledge(_logger, operation, acknowledged, _waitForReplicas);
            throw new GrantStoreUnavailableException("Too few Redis replicas acknowledged the write.");
        }
    }

    private async Task<List<string>> PageIdsAsync(string tag, RedisKey index, string? cursor, int count, CancellationToken cancellationToken)
    {
        RedisValue[] args = [_timeProvider.GetUtcNow().ToUnixTimeMilliseconds(), count, cursor is null ? string.Empty : IndexMember(cursor)];
        var reply = await RunAsync("ListIndex", db => db.ScriptEvaluateAsync(RedisGrantScripts.Page, [index], args), cancellationToken);
        return [.. ((RedisResult[])reply!).Select(r => string.Concat(tag, ".", (string)r!))];
    }

    private async Task<(GrantRecord? Grant, bool Known)> ReadAsync(string grantId, string operation, CancellationToken cancellationToken)
    {
        if (!GrantId.TryGetRoutingTag(grantId, out var tag))
        {
            return (null, false);
        }

        var grant = ToRecord(grantId, (await ReadRecordsAsync(operation, tag, [grantId], cancellationToken))[0]);
        return (grant, grant is not null);
    }

    /// <summary>Records, revocation marks and dictionary strings of grants of one tag: one single-slot script.</summary>
    private async Task<RedisResult[]> ReadRecordsAsync(string operation, string tag, List<string> ids, CancellationToken cancellationToken)
    {
        var keys = new RedisKey[2 + (ids.Count * 2)];
        keys[0] = _keys.Dictionary(tag, 0);
        keys[1] = _keys.Dictionary(tag, 1);
        for (var i = 0; i < ids.Count; i++)
        {
            keys[2 + (2 * i)] = _keys.Grant(tag, ids[i]);
            keys[3 + (2 * i)] = _keys.Revocation(tag, ids[i]);
        }

        RedisValue[] args = [_timeProvider.GetUtcNow().ToUnixTimeMilliseconds()];
        var reply = await RunAsync(operation, db => db.ScriptEvaluateAsync(RedisGrantScripts.Read, keys, args), cancellationToken);
        return (RedisResult[])reply!;
    }

    private GrantRecord? ToRecord(string grantId, RedisResult row)
    {
        var values = (RedisResult[])row!;
        if (values[0].IsNull)
        {
            return null;
        }

        var revocation = values[1].IsNull ? null : ParseRevocation((string)values[1]!);
        return RedisGrantRecordFormat.Decode(grantId, (byte[])values[0]!, (RedisResult[])values[2]!, revocation, _timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
    }

    /// <summary>
    /// A grant's member in its indexes: the ID without the routing tag and dot, which every member of an index
    /// shares (an index belongs to one tenant), so the order of members is the order of IDs. Five bytes less per
    /// member, enough to keep a two-grant task index a size class smaller.
    /// </summary>
    private static string IndexMember(string grantId) => grantId[(GrantId.RoutingTagLength + 1)..];

    private static GrantRevocation ParseRevocation(string json)
        => (JsonSerializer.Deserialize(json, GrantsJsonContext.Compact.RevocationDocument)
            ?? throw new InvalidOperationException("A stored revocation is empty.")).ToRevocation();

    private static string MinId(DateTimeOffset now, TimeSpan retention)
        => (now - retention).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    private Task<T> RunAsync<T>(string operation, Func<IDatabaseAsync, Task<T>> call, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Task<T> task;
        try
        {
            task = call(_connection.GetDatabase());
        }
        catch (RedisException e)
        {
            Log.GrantStoreUnavailable(_logger, operation, e);
            throw new GrantStoreUnavailableException("The grant store is unavailable.", e);
        }

        return Bound(operation, task, cancellationToken);
    }

    private async Task<T> Bound<T>(string operation, Task<T> task, CancellationToken cancellationToken)
    {
        await Bound(operation, (Task)task, cancellationToken);
        return await task;
    }

    /// <summary>
    /// Waits for <paramref name="task"/> at most the operation timeout, turning every Redis failure into
    /// <see cref="GrantStoreUnavailableException"/>. The timeout is real time, not the store's TimeProvider:
    /// it bounds how long a caller actually waits.
    /// </summary>
    private async Task Bound(string operation, Task task, CancellationToken cancellationToken)
    {
        try
        {
            await task.WaitAsync(_timeout, cancellationToken);
        }
        catch (TimeoutException e)
        {
            // RedisTimeoutException is a TimeoutException too. An abandoned task's later failure is observed here
            // so it does not surface as an unobserved task exception.
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            Log.GrantStoreTimedOut(_logger, operation, _timeout.TotalMilliseconds, e);
            throw new GrantStoreUnavailableException("The grant store did not answer in time.", e);
        }
        catch (RedisException e)
        {
            Log.GrantStoreUnavailable(_logger, operation, e);
            throw new GrantStoreUnavailableException("The grant store is unavailable.", e);
        }
    }
}
