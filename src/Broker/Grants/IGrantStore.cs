using Broker.Audit;

namespace Broker.Grants;

/// <summary>
/// The system of record for grants. A token is returned to a caller only after
/// <see cref="RecordAsync"/> completed: implementations must not return before the grant is durable.
/// </summary>
public interface IGrantStore
{
    /// <summary>
    /// Records a grant together with the audit event that describes its issuance, as one step.
    /// </summary>
    /// <exception cref="GrantStoreUnavailableException">The store could not confirm the write; the token must not be returned.</exception>
    ValueTask RecordAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken);

    /// <summary>Finds a grant by ID; null when unknown or already expired from the store.</summary>
    ValueTask<GrantRecord?> FindAsync(string grantId, CancellationToken cancellationToken);

    /// <summary>Appends an audit event that has no grant of its own (a denial, an admin action).</summary>
    ValueTask AppendAuditAsync(AuditEvent auditEvent, CancellationToken cancellationToken);
}
