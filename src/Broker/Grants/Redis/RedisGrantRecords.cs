using Broker.Audit;
using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// Grant records in Redis: recording a grant (with its indexes, audit event, link to its parent and status list
/// index, in one script call, which it may share with other grants of its tag: <see cref="RedisGroupCommit"/>) and
/// reading records back with their revocation marks (a single grant's read, too, in a call it may share with other
/// reads of its tag).
/// </summary>
internal sealed class RedisGrantRecords
{
    /// <summary>
    /// Most hash fields of one string dictionary (two per string, plus the counter). It bounds what a tenant can
    /// pin in memory with strings that never repeat (a fresh purpose per task, say): past it, strings are stored in
    /// the record instead, as without a dictionary.
    /// </summary>
    internal const int DictionaryCapacity = 8193;

    /// <summary>
    /// Most single-grant reads in one call: a read is two GETs and a few HGETs in the script, so 64 keep a call to
    /// ~0.1 ms of Redis time, short enough not to hold up the commands queued behind it.
    /// </summary>
    internal const int MaxReadBatch = 64;

    /// <summary>
    /// Single-grant read calls of a tag in flight at once; more reads wait and go together in the next. One would batch
    /// the most, but a read's call also waits behind the record calls ahead of it on the connection, and under mixed load
    /// reads queued behind a single one waited that much longer: 4 kept most of the saving (bench/README.md,
    /// "Introspection under load").
    /// </summary>
    internal const int ReadCallsInFlight = 4;

    private readonly RedisStoreConnection _redis;
    private readonly RedisGrantKeys _keys;
    private readonly IGrantRecordCodec _codec;
    private readonly GrantsOptions _options;
    private readonly StatusListOptions _statusList;
    private readonly TimeProvider _timeProvider;
    private readonly RedisGroupCommit _groupCommit;
    private readonly GrantStoreTelemetry _telemetry;
    private readonly RedisTagBatcher<string, GrantRecord?> _reads;

    public RedisGrantRecords(
        RedisStoreConnection redis, RedisGrantKeys keys, IGrantRecordCodec codec, GrantsOptions options, StatusListOptions statusList, TimeProvider timeProvider, RedisGroupCommit groupCommit, GrantStoreTelemetry telemetry)
    {
        _redis = redis;
        _keys = keys;
        _codec = codec;
        _options = options;
        _statusList = statusList;
        _timeProvider = timeProvider;
        _groupCommit = groupCommit;
        _telemetry = telemetry;

        // Introspections and state checks under load: concurrent reads of a tag share script calls.
        _reads = new(redis, MaxReadBatch, ReadCallsInFlight, ReadTogetherAsync);
    }

    /// <summary>See <see cref="IGrantStore.RecordWithStatusAsync"/>.</summary>
    public async ValueTask<RecordGrantOutcome> RecordAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        GrantValidation.ForRecord(grant, issued, now);
        var tag = GrantId.RoutingTag(grant.Tenant);

        var expiry = grant.ExpiresAt.ToUnixTimeMilliseconds();
        var ttl = (long)(grant.ExpiresAt - now + _options.Retention).TotalMilliseconds;
        var plan = StatusIndexing.Plan(_statusList, expiry, now.ToUnixTimeMilliseconds());
        var taskLimits = grant.TaskLimits;
        var remainders = taskLimits?.ForbiddenRemainders ?? [];
        RedisKey[] scriptKeys =
        [
            _keys.Grant(tag, grant.Id),
            _keys.TenantIndex(tag, grant.Tenant),
            _keys.SubjectIndex(tag, grant.Tenant, grant.Subject),
            _keys.TaskIndex(tag, grant.Tenant, grant.TaskId),
            _keys.AuditStream(tag),
            _keys.Dictionary(tag, RedisGrantRecordCodec.DictionaryNumber(expiry)),
            _keys.StatusBits(tag, grant.Tenant),
            _keys.StatusQueue(tag, grant.Tenant),
            _keys.StatusOrder(tag, grant.Tenant),

            // The parent's _keys are on the same slot: ForRecord checked that the parent ID has the grant's tag.
            .. grant.ParentGrantId is { } parent
                ? new[] { _keys.Grant(tag, parent), _keys.Revocation(tag, parent), _keys.Children(tag, parent), _keys.Dictionary(tag, 0), _keys.Dictionary(tag, 1) }
                : remainders.Count > 0 ? new[] { _keys.Dictionary(tag, 0), _keys.Dictionary(tag, 1) } : [],
        ];
        RedisValue[] args =
        [
            Math.Max(ttl, 1),
            expiry,
            RedisGrantKeys.IndexMember(grant.Id),
            now.ToUnixTimeMilliseconds(),
            RedisAuditTrail.Serialize(issued),
            _options.AuditMaxLength,
            RedisStoreConnection.MinId(now, _options.AuditRetention),
            (long)_options.AuditRetention.TotalMilliseconds,
            DictionaryCapacity,
            .. _codec.Encode(grant, now.ToUnixTimeMilliseconds()),
            RedisGrantRecordCodec.InlineChildren,
            plan.Capacity,
            plan.ReusableAt,
            plan.Step,
            plan.QuarantineUntil,
            plan.StateLifetime,
            taskLimits?.MaxGrants ?? 0,
            taskLimits?.MaxDuration is { } duration ? (long)duration.TotalMilliseconds : 0,

            // The records and revocation marks of the task's other grants, named from their tag-less index members.
            remainders.Count > 0 ? _keys.Grant(tag, tag + ".").ToString() : string.Empty,
            remainders.Count > 0 ? _keys.Revocation(tag, tag + ".").ToString() : string.Empty,
            remainders.Count,
            .. remainders.Select(r => (RedisValue)string.Join(' ', r)),
            RedisGrantRecordCodec.Consumer(grant),
            _keys.TagBase(tag),
        ];
        // Acknowledged by Redis (and the replicas, when configured) once this returns: the token may then be returned.
        var reply = (RedisResult[])(await _groupCommit.RecordAsync(tag, scriptKeys, args, cancellationToken))!;
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
            case 5:
                return new RecordGrantOutcome(RecordGrantResult.TaskForbiddenCombination, null);
            case 6:
                return new RecordGrantOutcome(RecordGrantResult.TaskGrantLimit, null);
            case 7:
                return new RecordGrantOutcome(RecordGrantResult.TaskDurationExceeded, null);
            default:
                // A 128-bit random ID never collides by chance; a duplicate is a bug upstream.
                throw new InvalidOperationException($"Grant '{grant.Id}' is already recorded.");
        }

        return new RecordGrantOutcome(RecordGrantResult.Recorded, reply.Length > 1 && !reply[1].IsNull ? (int)reply[1] : null);
    }

    /// <summary>See <see cref="IGrantStore.ReadStatusListAsync"/>: the bits the record and revoke scripts keep.</summary>
    public async ValueTask<byte[]?> ReadStatusListAsync(string tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var key = _keys.StatusBits(GrantId.RoutingTag(tenant), tenant);
        var bits = await _redis.RunAsync(nameof(IGrantStore.ReadStatusListAsync), db => db.StringGetAsync(key), cancellationToken);
        return bits.IsNull ? null : (byte[])bits!;
    }

    /// <summary>See <see cref="IGrantStore.FindAsync"/>.</summary>
    public async ValueTask<GrantRecord?> FindAsync(string grantId, CancellationToken cancellationToken)
    {
        var grant = await ReadAsync(grantId, nameof(IGrantStore.FindAsync), cancellationToken);
        return grant is not null && grant.ExpiresAt > _timeProvider.GetUtcNow() ? grant : null;
    }

    /// <summary>See <see cref="IGrantStore.GetStateAsync"/>.</summary>
    public async ValueTask<GrantState> GetStateAsync(string grantId, CancellationToken cancellationToken)
    {
        var grant = await ReadAsync(grantId, nameof(IGrantStore.GetStateAsync), cancellationToken);
        return grant is null ? GrantState.Unknown
            : grant.Status == GrantStatus.Revoked ? GrantState.Revoked
            : grant.ExpiresAt > _timeProvider.GetUtcNow() ? GrantState.Active
            : GrantState.Expired;
    }

    /// <summary>The grant with its revocation, expired or not; null when unknown or malformed.</summary>
    private async Task<GrantRecord?> ReadAsync(string grantId, string operation, CancellationToken cancellationToken)
    {
        if (!GrantId.TryGetRoutingTag(grantId, out var tag))
        {
            return null;
        }

        return await _reads.RunAsync(operation, tag, grantId, cancellationToken);
    }

    /// <summary>One call for the single-grant reads of a tag that waited together.</summary>
    private Task<GrantRecord?[]> ReadTogetherAsync(string tag, string[] ids)
    {
        _telemetry.ReadTogether(ids.Length);
        return ReadManyAsync(nameof(IGrantStore.FindAsync), tag, ids, CancellationToken.None);
    }

    /// <summary>
    /// Records, revocation marks and dictionary strings of grants of one tag, read in one single-slot script; null
    /// for each grant that is gone.
    /// </summary>
    public async Task<GrantRecord?[]> ReadManyAsync(string operation, string tag, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var scriptKeys = new RedisKey[2 + (ids.Count * 2)];
        scriptKeys[0] = _keys.Dictionary(tag, 0);
        scriptKeys[1] = _keys.Dictionary(tag, 1);
        for (var i = 0; i < ids.Count; i++)
        {
            scriptKeys[2 + (2 * i)] = _keys.Grant(tag, ids[i]);
            scriptKeys[3 + (2 * i)] = _keys.Revocation(tag, ids[i]);
        }

        var now = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var rows = (RedisResult[])(await _redis.EvaluateAsync(operation, RedisGrantScripts.Read, scriptKeys, [now], cancellationToken))!;
        var grants = new GrantRecord?[ids.Count];
        for (var i = 0; i < ids.Count; i++)
        {
            var values = (RedisResult[])rows[i]!;
            if (!values[0].IsNull)
            {
                var strings = ((RedisResult[])values[2]!).Select(s => (byte[]?)s).ToArray();
                grants[i] = _codec.Decode(ids[i], new StoredGrant((byte[])values[0]!, strings, (string?)values[1]), now);
            }
        }

        return grants;
    }
}
