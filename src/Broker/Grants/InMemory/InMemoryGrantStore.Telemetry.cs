namespace Broker.Grants.InMemory;

/// <summary>
/// The store's public operations, each measured by <see cref="GrantStoreTelemetry"/> (<c>db.system.name</c>
/// <c>memory</c>) around the operation itself (the <c>…CoreAsync</c> methods).
/// </summary>
internal sealed partial class InMemoryGrantStore
{
    public ValueTask<RecordGrantOutcome> RecordWithStatusAsync(GrantRecord grant, Audit.AuditEvent issued, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.Record, () => RecordWithStatusCoreAsync(grant, issued, cancellationToken));

    public ValueTask<byte[]?> ReadStatusListAsync(string tenant, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.ReadStatusList, () => ReadStatusListCoreAsync(tenant, cancellationToken));

    public ValueTask<GrantRecord?> FindAsync(string grantId, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.Find, () => FindCoreAsync(grantId, cancellationToken));

    public ValueTask AppendAuditAsync(Audit.AuditEvent auditEvent, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.AppendAudit, () => AppendAuditCoreAsync(auditEvent, cancellationToken));

    public ValueTask<GrantState> GetStateAsync(string grantId, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.GetState, () => GetStateCoreAsync(grantId, cancellationToken));

    public async ValueTask<RevokeResult> RevokeAsync(string grantId, string revokedBy, string reason, CancellationToken cancellationToken)
    {
        var result = await _telemetry.MeasureAsync(GrantStoreOperation.Revoke, () => RevokeCoreAsync(grantId, revokedBy, reason, cancellationToken));
        _telemetry.Revoked(result);
        return result;
    }

    public async ValueTask<int> RevokeAllAsync(GrantQuery query, string revokedBy, string reason, CancellationToken cancellationToken)
    {
        var count = await _telemetry.MeasureAsync(GrantStoreOperation.RevokeAll, () => RevokeAllCoreAsync(query, revokedBy, reason, cancellationToken));
        _telemetry.RevokedInBulk(count);
        return count;
    }

    public ValueTask<GrantPage> ListAsync(GrantQuery query, string? cursor, int pageSize, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.List, () => ListCoreAsync(query, cursor, pageSize, cancellationToken));

    public ValueTask<RevocationPage> ReadRevocationsAsync(string tenant, StreamPosition? afterPosition, int count, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.ReadRevocations, () => ReadRevocationsCoreAsync(tenant, afterPosition, count, cancellationToken));

    public ValueTask<StreamPosition> GetRevocationPositionAsync(string tenant, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.GetRevocationPosition, () => GetRevocationPositionCoreAsync(tenant, cancellationToken));

    public ValueTask<IReadOnlyList<Audit.AuditEvent>> ReadAuditAsync(string? tenant, int count, CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.ReadAudit, () => ReadAuditCoreAsync(tenant, count, cancellationToken));

    public ValueTask<RevocationSubscription> SubscribeRevocationsAsync(CancellationToken cancellationToken)
        => _telemetry.MeasureAsync(GrantStoreOperation.SubscribeRevocations, () => SubscribeRevocationsCoreAsync(cancellationToken));
}
