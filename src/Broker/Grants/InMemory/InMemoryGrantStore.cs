using Broker.Audit;
using Microsoft.Extensions.Options;

namespace Broker.Grants.InMemory;

/// <summary>
/// The embedded grant store for <c>--dev</c> and single-process use. Grants live in process memory and are gone
/// on restart. Expiry follows the <see cref="TimeProvider"/>; records are dropped <see cref="GrantsOptions.Retention"/>
/// after their token expired, revocation and audit entries by age and count. Thread-safe: one lock guards all state,
/// which also makes every operation atomic, as in the Redis store. This class keeps the records, the links from
/// parents to children and the cascade; the revocation streams (<see cref="InMemoryRevocationStream"/>), the audit
/// trail (<see cref="InMemoryAuditTrail"/>) and each tenant's status list (<see cref="InMemoryStatusList"/>, allocated
/// exactly as in Redis: <see cref="StatusIndexing"/>) are kept by classes of their own, called under the same lock. A
/// tenant's list stays for the life of the process (at most <see cref="StatusListOptions.Capacity"/> bits and a few
/// bytes per index). Records and audit events are kept with their repeated strings shared (<see cref="InMemoryStrings"/>).
/// </summary>
internal sealed partial class InMemoryGrantStore : IGrantStore
{
    private readonly TimeProvider _timeProvider;
    private readonly GrantsOptions _options;
    private readonly StatusListOptions _statusList;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, GrantRecord> _grants = new(StringComparer.Ordinal);

    /// <summary>When each grant's record goes: expiry + retention, or later while a child's record lives on.</summary>
    private readonly Dictionary<string, DateTimeOffset> _removeAt = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, DateTimeOffset> _removals = new();

    /// <summary>The grants derived from each grant (parent ID → child IDs), for the revocation cascade.</summary>
    private readonly Dictionary<string, List<string>> _children = new(StringComparer.Ordinal);
    private readonly InMemoryRevocationStream _revocations;
    private readonly InMemoryAuditTrail _audit;
    private readonly Dictionary<string, InMemoryStatusList> _statusLists = new(StringComparer.Ordinal);
    private readonly InMemoryTaskLimits _taskLimits = new();
    private readonly InMemoryStrings _strings = new();
    private readonly RevocationBroadcaster _broadcaster = new();
    private readonly GrantStoreTelemetry _telemetry;

    public InMemoryGrantStore(TimeProvider timeProvider)
        : this(timeProvider, Options.Create(new GrantsOptions()))
    {
    }

    public InMemoryGrantStore(TimeProvider timeProvider, IOptions<GrantsOptions> options)
        : this(timeProvider, options, Options.Create(new StatusListOptions()))
    {
    }

    public InMemoryGrantStore(TimeProvider timeProvider, IOptions<GrantsOptions> options, IOptions<StatusListOptions> statusList)
        : this(timeProvider, options, statusList, GrantStoreTelemetry.None)
    {
    }

    public InMemoryGrantStore(TimeProvider timeProvider, IOptions<GrantsOptions> options, IOptions<StatusListOptions> statusList, GrantStoreTelemetry telemetry)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        _telemetry = telemetry;
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(statusList);
        _timeProvider = timeProvider;
        _options = options.Value;
        _statusList = statusList.Value;
        _revocations = new InMemoryRevocationStream(_options, timeProvider.GetUtcNow());
        _audit = new InMemoryAuditTrail(_options);
    }

    /// <summary>The audit events retained so far, tenants' and global, in the order they were appended.</summary>
    public IReadOnlyCollection<AuditEvent> AuditTrail
    {
        get
        {
            lock (_lock)
            {
                return _audit.All;
            }
        }
    }

    public async ValueTask<RecordGrantResult> RecordAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken)
        => (await RecordWithStatusAsync(grant, issued, cancellationToken)).Result;

    private ValueTask<RecordGrantOutcome> RecordWithStatusCoreAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        GrantValidation.ForRecord(grant, issued, now);
        lock (_lock)
        {
            Purge(now);
            if (_grants.ContainsKey(grant.Id))
            {
                // A 128-bit random ID never collides by chance; a duplicate is a bug upstream.
                throw new InvalidOperationException($"Grant '{grant.Id}' is already recorded.");
            }

            // Under the same lock as revocation: the parent is either revoked already (refused here) or revoked
            // later, and then its cascade finds this grant among its children.
            GrantRecord? parent = null;
            if (grant.ParentGrantId is { } parentId)
            {
                if (!_grants.TryGetValue(parentId, out parent) || parent.Status != GrantStatus.Active || parent.ExpiresAt <= now)
                {
                    return ValueTask.FromResult(new RecordGrantOutcome(RecordGrantResult.ParentNotActive, null));
                }

                if (!string.Equals(parent.Tenant, grant.Tenant, StringComparison.Ordinal))
                {
                    throw new ArgumentException("The parent grant belongs to another tenant.", nameof(grant));
                }
            }

            // The task's limits, under the same lock: of two racing grants of one task, the second sees the first.
            var taskLimits = grant.TaskLimits is { IsEmpty: false } limits ? limits : null;
            if (taskLimits is not null && _taskLimits.Check(grant, taskLimits, id => LiveCapabilities(id, now), now) is { } refused)
            {
                return ValueTask.FromResult(new RecordGrantOutcome(refused, null));
            }

            // The index, under the same lock: never handed to two grants, and no grant recorded without one.
            int? statusIndex = null;
            var plan = StatusIndexing.Plan(_statusList, grant.ExpiresAt.ToUnixTimeMilliseconds(), now.ToUnixTimeMilliseconds());
            if (plan.Capacity > 0)
            {
                if (!_statusLists.TryGetValue(grant.Tenant, out var list))
                {
                    _statusLists[grant.Tenant] = list = new InMemoryStatusList();
                }

                statusIndex = list.Allocate(plan, now.ToUnixTimeMilliseconds());
                if (statusIndex is null)
                {
                    return ValueTask.FromResult(new RecordGrantOutcome(RecordGrantResult.StatusListFull, null));
                }
            }

            var kept = _strings.Intern(grant) with { Status = GrantStatus.Active, Revocation = null, StatusIndex = statusIndex, TaskLimits = null };
            _grants.Add(grant.Id, kept);
            if (taskLimits is not null)
            {
                _taskLimits.Record(kept, taskLimits, now);
            }

            var removeAt = grant.ExpiresAt + _options.Retention;
            ScheduleRemoval(grant.Id, removeAt);
            if (parent is not null)
            {
                if (!_children.TryGetValue(parent.Id, out var children))
                {
                    _children[parent.Id] = children = [];
                }

                children.Add(grant.Id);

                // The parent's record, and with it the link, stays at least as long as the child's (as in Redis).
                if (_removeAt[parent.Id] < removeAt)
                {
                    ScheduleRemoval(parent.Id, removeAt);
                }
            }

            _audit.Append(_strings.Intern(issued), now);
            return ValueTask.FromResult(new RecordGrantOutcome(RecordGrantResult.Recorded, statusIndex));
        }
    }

    private ValueTask<byte[]?> ReadStatusListCoreAsync(string tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        lock (_lock)
        {
            return ValueTask.FromResult(_statusLists.TryGetValue(tenant, out var list) ? list.Bits.ToArray() : null);
        }
    }

    private ValueTask<GrantRecord?> FindCoreAsync(string grantId, CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            return ValueTask.FromResult(grantId is not null && _grants.TryGetValue(grantId, out var grant) && grant.ExpiresAt > now
                ? grant
                : null);
        }
    }

    private ValueTask AppendAuditCoreAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            _audit.Append(auditEvent, now);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Appends a catalog change's audit event and the withdrawals it causes, in one step under the store's lock, and
    /// announces the withdrawals: what the Redis catalog store does in its own script. Called by the in-memory catalog
    /// store while it holds its own lock (always in that order: catalog, then grants).
    /// </summary>
    internal IReadOnlyList<RevocationEntry> RecordCatalogChange(AuditEvent auditEvent, IReadOnlyList<(CapabilityWithdrawal Withdrawal, DateTimeOffset KeepUntil)> withdrawals)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        ArgumentNullException.ThrowIfNull(withdrawals);
        var now = _timeProvider.GetUtcNow();
        List<RevocationEntry> entries = [];
        lock (_lock)
        {
            foreach (var (withdrawal, keepUntil) in withdrawals)
            {
                entries.Add(_revocations.AppendWithdrawal(auditEvent.Tenant!, withdrawal, keepUntil, now));
            }

            _audit.Append(auditEvent, now);
        }

        foreach (var entry in entries)
        {
            _broadcaster.Publish(entry);
        }

        return entries;
    }

    private ValueTask<GrantState> GetStateCoreAsync(string grantId, CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            Purge(now);
            if (grantId is null || !_grants.TryGetValue(grantId, out var grant))
            {
                return ValueTask.FromResult(GrantState.Unknown);
            }

            return ValueTask.FromResult(grant.Status == GrantStatus.Revoked ? GrantState.Revoked
                : grant.ExpiresAt > now ? GrantState.Active
                : GrantState.Expired);
        }
    }

    public async ValueTask<bool> IsRevokedAsync(string grantId, CancellationToken cancellationToken)
        => await GetStateAsync(grantId, cancellationToken) == GrantState.Revoked;

    private ValueTask<RevokeResult> RevokeCoreAsync(string grantId, string revokedBy, string reason, CancellationToken cancellationToken)
    {
        GrantValidation.ForRevocation(revokedBy, reason);
        var now = _timeProvider.GetUtcNow();
        RevokeResult result;
        lock (_lock)
        {
            Purge(now);
            result = RevokeLocked(grantId, revokedBy, reason, now);
        }

        if (result is Revoked revoked)
        {
            _broadcaster.Publish(revoked.Entry);
            foreach (var descendant in revoked.Descendants)
            {
                _broadcaster.Publish(descendant);
            }
        }

        return ValueTask.FromResult(result);
    }

    private ValueTask<int> RevokeAllCoreAsync(GrantQuery query, string revokedBy, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        GrantValidation.ForRevocation(revokedBy, reason);
        var now = _timeProvider.GetUtcNow();
        List<RevocationEntry> entries = [];
        lock (_lock)
        {
            Purge(now);
            foreach (var grant in Select(query, now))
            {
                if (RevokeLocked(grant.Id, revokedBy, reason, now) is Revoked revoked)
                {
                    entries.Add(revoked.Entry);
                    entries.AddRange(revoked.Descendants);
                }
            }
        }

        foreach (var entry in entries)
        {
            _broadcaster.Publish(entry);
        }

        return ValueTask.FromResult(entries.Count);
    }

    private ValueTask<GrantPage> ListCoreAsync(GrantQuery query, string? cursor, int pageSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        GrantValidation.ForCount(pageSize, GrantQuery.MaxPageSize);
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            var selected = Select(query, now);
            var start = 0;
            if (cursor is not null)
            {
                // The cursor is the last grant of the previous page. If it is gone it has expired, and so has every
                // grant after it in this order: the listing is over (the Redis store behaves the same).
                var index = selected.FindIndex(g => string.Equals(g.Id, cursor, StringComparison.Ordinal));
                if (index < 0)
                {
                    return ValueTask.FromResult(new GrantPage([], null));
                }

                start = index + 1;
            }

            var page = selected.Skip(start).Take(pageSize).ToList();
            var next = start + page.Count < selected.Count ? page[^1].Id : null;
            return ValueTask.FromResult(new GrantPage(page, next));
        }
    }

    private ValueTask<RevocationPage> ReadRevocationsCoreAsync(string tenant, StreamPosition? afterPosition, int count, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        GrantValidation.ForCount(count);
        lock (_lock)
        {
            return ValueTask.FromResult(_revocations.Read(tenant, afterPosition, count, _timeProvider.GetUtcNow()));
        }
    }

    private ValueTask<StreamPosition> GetRevocationPositionCoreAsync(string tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);

        // One sequence of positions for every tenant: reading after the last one skips other tenants' entries too.
        lock (_lock)
        {
            return ValueTask.FromResult(_revocations.Position);
        }
    }

    private ValueTask<IReadOnlyList<AuditEvent>> ReadAuditCoreAsync(string? tenant, int count, CancellationToken cancellationToken)
    {
        GrantValidation.ForCount(count);
        lock (_lock)
        {
            return ValueTask.FromResult<IReadOnlyList<AuditEvent>>(_audit.Read(tenant, count, _timeProvider.GetUtcNow()));
        }
    }

    private ValueTask<RevocationSubscription> SubscribeRevocationsCoreAsync(CancellationToken cancellationToken)
        => ValueTask.FromResult(_broadcaster.Add(static _ => ValueTask.CompletedTask));

    public ValueTask<bool> IsReadyAsync(CancellationToken cancellationToken) => ValueTask.FromResult(true);

    private RevokeResult RevokeLocked(string grantId, string revokedBy, string reason, DateTimeOffset now)
    {
        if (grantId is null || !_grants.TryGetValue(grantId, out var grant) || grant.ExpiresAt <= now)
        {
            return GrantNotFound.Instance;
        }

        if (grant.Revocation is { } existing)
        {
            return new AlreadyRevoked(existing);
        }

        var entry = Mark(grant, new GrantRevocation(now, revokedBy, reason), now);

        // The cascade, breadth first (parents before their children), as the Redis revoke script walks it: every
        // unexpired, unrevoked descendant is marked too. Already revoked or expired ones are walked through, not
        // marked. The visited set only guards against a malformed graph; IDs are random, so cycles cannot form.
        List<RevocationEntry> descendants = [];
        var descendantRevocation = new GrantRevocation(now, revokedBy, GrantValidation.DescendantReason(grant.Id, reason));
        HashSet<string> seen = new(StringComparer.Ordinal) { grant.Id };
        Queue<string> queue = new(ChildrenOf(grant.Id));
        while (queue.TryDequeue(out var id))
        {
            if (!seen.Add(id))
            {
                continue;
            }

            if (_grants.TryGetValue(id, out var descendant) && descendant.ExpiresAt > now && descendant.Revocation is null)
            {
                descendants.Add(Mark(descendant, descendantRevocation, now));
            }

            foreach (var child in ChildrenOf(id))
            {
                queue.Enqueue(child);
            }
        }

        return new Revoked(entry) { Descendants = descendants };
    }

    /// <summary>The capabilities of an unexpired, unrevoked grant; null for any other.</summary>
    private IReadOnlyList<string>? LiveCapabilities(string grantId, DateTimeOffset now) =>
        _grants.TryGetValue(grantId, out var grant) && grant.Status == GrantStatus.Active && grant.ExpiresAt > now ? grant.Capabilities : null;

    private List<string> ChildrenOf(string grantId) => _children.TryGetValue(grantId, out var children) ? children : [];

    /// <summary>Marks one grant revoked, with its stream entry and audit event.</summary>
    private RevocationEntry Mark(GrantRecord grant, GrantRevocation revocation, DateTimeOffset now)
    {
        _grants[grant.Id] = grant with { Status = GrantStatus.Revoked, Revocation = revocation };

        // Its bit in the status list, in the same step (an unexpired grant's index cannot have been reused).
        if (grant.StatusIndex is { } index && _statusLists.TryGetValue(grant.Tenant, out var list))
        {
            list.Revoke(index);
        }

        var entry = _revocations.Append(grant, now);
        _audit.Append(RevocationAudit(grant, revocation), now);
        return entry;
    }

    internal static AuditEvent RevocationAudit(GrantRecord grant, GrantRevocation revocation) => new()
    {
        Type = AuditEventTypes.GrantRevoked,
        Time = revocation.RevokedAt,
        Outcome = AuditOutcome.Allowed,
        Reason = revocation.Reason,
        Tenant = grant.Tenant,
        Subject = grant.Subject,
        TaskId = grant.TaskId,
        GrantId = grant.Id,
        Actor = revocation.RevokedBy,
    };

    private List<GrantRecord> Select(GrantQuery query, DateTimeOffset now) =>
        [.. _grants.Values
            .Where(g => g.ExpiresAt > now
                && string.Equals(g.Tenant, query.Tenant, StringComparison.Ordinal)
                && (query.Subject is null || string.Equals(g.Subject, query.Subject, StringComparison.Ordinal))
                && (query.TaskId is null || string.Equals(g.TaskId, query.TaskId, StringComparison.Ordinal)))
            .OrderByDescending(g => g.ExpiresAt)
            .ThenByDescending(g => g.Id, StringComparer.Ordinal)];

    private void ScheduleRemoval(string grantId, DateTimeOffset removeAt)
    {
        _removeAt[grantId] = removeAt;
        _removals.Enqueue(grantId, removeAt);
    }

    private void Purge(DateTimeOffset now)
    {
        _taskLimits.Purge(now);
        while (_removals.TryPeek(out var grantId, out var removeAt) && removeAt <= now)
        {
            _removals.Dequeue();

            // A removal postponed by a child's longer-lived record leaves an earlier, stale entry in the queue.
            if (_removeAt.TryGetValue(grantId, out var due) && due <= now)
            {
                _removeAt.Remove(grantId);
                _grants.Remove(grantId);
                _children.Remove(grantId);
            }
        }
    }
}
