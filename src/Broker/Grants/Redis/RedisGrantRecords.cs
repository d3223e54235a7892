using Broker.Audit;
using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// Grant records in Redis: recording a grant (with its indexes, audit event, link to its parent and status list
/// index, in one script call, which it may share with other grants of its tag: <see cref="RedisGroupCommit"/>) and
/// reading records back with their revocation marks.
/// </summary>
internal sealed class RedisGrantRecords(
    RedisStoreConnection redis, RedisGrantKeys keys, IGrantRecordCodec codec, GrantsOptions options, StatusListOptions statusList, TimeProvider timeProvider, RedisGroupCommit groupCommit)
{
    /// <summary>
    /// Most hash fields of one string dictionary (two per string, plus the counter). It bounds what a tenant can
    /// pin in memory with strings that never repeat (a fresh purpose per task, say): past it, strings are stored in
    /// the record instead, as without a dictionary.
    /// </summary>
    internal const int DictionaryCapacity = 8193;

    /// <summary>See <see cref="IGrantStore.RecordWithStatusAsync"/>.</summary>
    public async ValueTask<RecordGrantOutcome> RecordAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        GrantValidation.ForRecord(grant, issued, now);
        var tag = GrantId.RoutingTag(grant.Tenant);

        var expiry = grant.ExpiresAt.ToUnixTimeMilliseconds();
        var ttl = (long)(grant.ExpiresAt - now + options.Retention).TotalMilliseconds;
        var plan = StatusIndexing.Plan(statusList, expiry, now.ToUnixTimeMilliseconds());
        var taskLimits = grant.TaskLimits;
        var remainders = taskLimits?.ForbiddenRemainders ?? [];
        RedisKey[] scriptKeys =
        [
            keys.Grant(tag, grant.Id),
            keys.TenantIndex(tag, grant.Tenant),
            keys.SubjectIndex(tag, grant.Tenant, grant.Subject),
            keys.TaskIndex(tag, grant.Tenant, grant.TaskId),
            keys.AuditStream(tag),
            keys.Dictionary(tag, RedisGrantRecordCodec.DictionaryNumber(expiry)),
            keys.StatusBits(tag, grant.Tenant),
            keys.StatusQueue(tag, grant.Tenant),
            keys.StatusOrder(tag, grant.Tenant),

            // The parent's keys are on the same slot: ForRecord checked that the parent ID has the grant's tag.
            .. grant.ParentGrantId is { } parent
                ? new[] { keys.Grant(tag, parent), keys.Revocation(tag, parent), keys.Children(tag, parent), keys.Dictionary(tag, 0), keys.Dictionary(tag, 1) }
                : remainders.Count > 0 ? new[] { keys.Dictionary(tag, 0), keys.Dictionary(tag, 1) } : [],
        ];
        RedisValue[] args =
        [
            Math.Max(ttl, 1),
            expiry,
            RedisGrantKeys.IndexMember(grant.Id),
            now.ToUnixTimeMilliseconds(),
            RedisAuditTrail.Serialize(issued),
            options.AuditMaxLength,
            RedisStoreConnection.MinId(now, options.AuditRetention),
            (long)options.AuditRetention.TotalMilliseconds,
            DictionaryCapacity,
            .. codec.Encode(grant, now.ToUnixTimeMilliseconds()),
            RedisGrantRecordCodec.InlineChildren,
            plan.Capacity,
            plan.ReusableAt,
            plan.Step,
            plan.QuarantineUntil,
            plan.StateLifetime,
            taskLimits?.MaxGrants ?? 0,
            taskLimits?.MaxDuration is { } duration ? (long)duration.TotalMilliseconds : 0,

            // The records and revocation marks of the task's other grants, named from their tag-less index members.
            remainders.Count > 0 ? keys.Grant(tag, tag + ".").ToString() : string.Empty,
            remainders.Count > 0 ? keys.Revocation(tag, tag + ".").ToString() : string.Empty,
            remainders.Count,
            .. remainders.Select(r => (RedisValue)string.Join(' ', r)),
            RedisGrantRecordCodec.Consumer(grant),
            keys.TagBase(tag),
        ];
        // Acknowledged by Redis (and the replicas, when configured) once this returns: the token may then be returned.
        var reply = (RedisResult[])(await groupCommit.RecordAsync(tag, scriptKeys, args, cancellationToken))!;
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
        var key = keys.StatusBits(GrantId.RoutingTag(tenant), tenant);
        var bits = await redis.RunAsync(nameof(IGrantStore.ReadStatusListAsync), db => db.StringGetAsync(key), cancellationToken);
        return bits.IsNull ? null : (byte[])bits!;
    }

    /// <summary>See <see cref="IGrantStore.FindAsync"/>.</summary>
    public async ValueTask<GrantRecord?> FindAsync(string grantId, CancellationToken cancellationToken)
    {
        var grant = await ReadAsync(grantId, nameof(IGrantStore.FindAsync), cancellationToken);
        return grant is not null && grant.ExpiresAt > timeProvider.GetUtcNow() ? grant : null;
    }

    /// <summary>See <see cref="IGrantStore.GetStateAsync"/>.</summary>
    public async ValueTask<GrantState> GetStateAsync(string grantId, CancellationToken cancellationToken)
    {
        var grant = await ReadAsync(grantId, nameof(IGrantStore.GetStateAsync), cancellationToken);
        return grant is null ? GrantState.Unknown
            : grant.Status == GrantStatus.Revoked ? GrantState.Revoked
            : grant.ExpiresAt > timeProvider.GetUtcNow() ? GrantState.Active
            : GrantState.Expired;
    }

    /// <summary>The grant with its revocation, expired or not; null when unknown or malformed.</summary>
    private async Task<GrantRecord?> ReadAsync(string grantId, string operation, CancellationToken cancellationToken)
    {
        if (!GrantId.TryGetRoutingTag(grantId, out var tag))
        {
            return null;
        }

        return (await ReadManyAsync(operation, tag, [grantId], cancellationToken))[0];
    }

    /// <summary>
    /// Records, revocation marks and dictionary strings of grants of one tag, read in one single-slot script; null
    /// for each grant that is gone.
    /// </summary>
    public async Task<GrantRecord?[]> ReadManyAsync(string operation, string tag, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var scriptKeys = new RedisKey[2 + (ids.Count * 2)];
        scriptKeys[0] = keys.Dictionary(tag, 0);
        scriptKeys[1] = keys.Dictionary(tag, 1);
        for (var i = 0; i < ids.Count; i++)
        {
            scriptKeys[2 + (2 * i)] = keys.Grant(tag, ids[i]);
            scriptKeys[3 + (2 * i)] = keys.Revocation(tag, ids[i]);
        }

        var now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var rows = (RedisResult[])(await redis.EvaluateAsync(operation, RedisGrantScripts.Read, scriptKeys, [now], cancellationToken))!;
        var grants = new GrantRecord?[ids.Count];
        for (var i = 0; i < ids.Count; i++)
        {
            var values = (RedisResult[])rows[i]!;
            if (!values[0].IsNull)
            {
                var strings = ((RedisResult[])values[2]!).Select(s => (byte[]?)s).ToArray();
                grants[i] = codec.Decode(ids[i], new StoredGrant((byte[])values[0]!, strings, (string?)values[1]), now);
            }
        }

        return grants;
    }
}
