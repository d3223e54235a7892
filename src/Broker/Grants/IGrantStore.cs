using Broker.Audit;

namespace Broker.Grants;

/// <summary>
/// The system of record for grants, their revocation and the audit trail. A token is returned to a caller only
/// after <see cref="RecordAsync"/> completed: implementations must not return before the grant is durable.
/// </summary>
/// <remarks>
/// Every member either completes or throws <see cref="GrantStoreUnavailableException"/> within the store's
/// configured timeout; callers fail closed on it. Malformed grant IDs are treated as unknown, never as errors,
/// because they arrive from outside (admin API, introspection).
/// </remarks>
internal interface IGrantStore
{
    /// <summary>
    /// Records a grant together with the audit event that describes its issuance, as one step: either both are
    /// stored or neither is. A grant derived from another (<see cref="GrantRecord.ParentGrantId"/>) is recorded only
    /// while its parent is active, checked in that same step, and is linked to the parent so that revoking the
    /// parent revokes it: a concurrent revocation of the parent either comes first (and the grant is refused) or
    /// after (and its cascade finds the grant).
    /// </summary>
    /// <returns>
    /// <see cref="RecordGrantResult.Recorded"/>, or <see cref="RecordGrantResult.ParentNotActive"/> when nothing was
    /// recorded because the parent is revoked, expired or unknown, or <see cref="RecordGrantResult.StatusListFull"/>
    /// when the tenant's status list has no free index (see <see cref="RecordWithStatusAsync"/>).
    /// </returns>
    /// <exception cref="GrantStoreUnavailableException">
    /// The store could not confirm the write (or, when configured, its replication); the token must not be returned.
    /// </exception>
    /// <exception cref="InvalidOperationException">A grant with this ID is already recorded (a bug upstream: IDs are random).</exception>
    /// <exception cref="ArgumentException">
    /// The grant is malformed, or its parent belongs to another tenant (a derived grant keeps its parent's tenant, and
    /// so its routing tag: a family of grants lives in one partition, one Redis Cluster hash slot).
    /// </exception>
    ValueTask<RecordGrantResult> RecordAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken);

    /// <summary>
    /// Records a grant exactly as <see cref="RecordAsync"/> does and, with the status list on
    /// (<see cref="StatusListOptions.Enabled"/>), allocates its index in its tenant's status list in the
    /// same atomic step: an index that came free first (its token expired at least
    /// <see cref="StatusListOptions.ReuseMargin"/> ago), else the next one never used. Returns
    /// <see cref="RecordGrantResult.StatusListFull"/> (nothing of the grant written) when every index is in use.
    /// </summary>
    /// <returns>The result, and the index the token's <c>status</c> claim must carry.</returns>
    /// <exception cref="GrantStoreUnavailableException">As <see cref="RecordAsync"/>.</exception>
    /// <exception cref="InvalidOperationException">As <see cref="RecordAsync"/>.</exception>
    /// <exception cref="ArgumentException">As <see cref="RecordAsync"/>.</exception>
    ValueTask<RecordGrantOutcome> RecordWithStatusAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken);

    /// <summary>
    /// Reads a tenant's status list: one bit per index, index 0 the least significant bit of byte 0
    /// (draft-ietf-oauth-status-list §4.1), 1 for a revoked grant. Trailing zero bytes may be left out (the caller pads
    /// to the list's capacity); null when the tenant has no list yet, or its last token expired long ago.
    /// </summary>
    ValueTask<byte[]?> ReadStatusListAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>
    /// Finds a grant by ID, with its revocation if any; null when unknown, malformed or expired.
    /// </summary>
    ValueTask<GrantRecord?> FindAsync(string grantId, CancellationToken cancellationToken);

    /// <summary>
    /// Appends an audit event that has no grant of its own (a denial, an admin action): to its tenant's stream, or
    /// to the global stream (capped by <see cref="GrantsOptions.GlobalAuditMaxLength"/>) when it has no tenant.
    /// </summary>
    ValueTask AppendAuditAsync(AuditEvent auditEvent, CancellationToken cancellationToken);

    /// <summary>What the store knows about a grant ID: active, revoked, expired or unknown.</summary>
    ValueTask<GrantState> GetStateAsync(string grantId, CancellationToken cancellationToken);

    /// <summary>True when the grant was revoked. Unknown and expired grants are not revoked (verifiers check expiry themselves).</summary>
    ValueTask<bool> IsRevokedAsync(string grantId, CancellationToken cancellationToken);

    /// <summary>
    /// Revokes one grant and every grant derived from it (children, grandchildren…) as a single atomic step: each is
    /// marked revoked (when, by whom, why), has an entry of its own in the revocation stream and in the audit trail,
    /// and is announced to every replica, and its bit in its tenant's status list is set. Descendants are marked with
    /// <see cref="GrantValidation.DescendantReason"/>; expired or already revoked ones are left as they are.
    /// </summary>
    /// <param name="grantId">The grant to revoke.</param>
    /// <param name="revokedBy">The identity that revokes: an admin, or the workload itself (RFC 7009).</param>
    /// <param name="reason">Why, in a few words; stored and audited, so no secrets.</param>
    /// <param name="cancellationToken">Cancels the wait (not necessarily the revocation).</param>
    /// <returns>
    /// <see cref="Revoked"/> (with the descendants revoked with it), <see cref="AlreadyRevoked"/> (harmless repeat) or
    /// <see cref="GrantNotFound"/> (unknown or expired).
    /// </returns>
    /// <exception cref="GrantStoreUnavailableException">
    /// The store could not confirm the revocation (or, when configured, its replication); the caller retries.
    /// </exception>
    ValueTask<RevokeResult> RevokeAsync(string grantId, string revokedBy, string reason, CancellationToken cancellationToken);

    /// <summary>
    /// Revokes every unexpired grant selected by <paramref name="query"/>, each exactly as <see cref="RevokeAsync"/>
    /// would. Each grant's revocation is atomic; the whole batch is not (grants recorded meanwhile may be missed,
    /// so callers that must stop a task also deny new exchanges for it).
    /// </summary>
    /// <returns>How many grants this call revoked, descendants included (already revoked ones are not counted).</returns>
    ValueTask<int> RevokeAllAsync(GrantQuery query, string revokedBy, string reason, CancellationToken cancellationToken);

    /// <summary>
    /// Lists unexpired grants (revoked ones included) selected by <paramref name="query"/>, latest expiry first; ties
    /// (grants of one expiry) by ID descending in memory and in a subject's or task's listing, latest recorded first in
    /// a Redis tenant's listing; see <see cref="GrantPage"/>. Cursor-based: a cursor stays valid while grants are
    /// recorded and revoked.
    /// </summary>
    /// <param name="query">Which grants.</param>
    /// <param name="cursor">Null for the first page, otherwise <see cref="GrantPage.NextCursor"/> of the previous page.</param>
    /// <param name="pageSize">1 to <see cref="GrantQuery.MaxPageSize"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<GrantPage> ListAsync(GrantQuery query, string? cursor, int pageSize, CancellationToken cancellationToken);

    /// <summary>
    /// Reads a tenant's revocation stream after <paramref name="afterPosition"/> (exclusive), oldest first. A reader
    /// that resumes from the last position it saw misses nothing still retained.
    /// </summary>
    /// <param name="tenant">The tenant.</param>
    /// <param name="afterPosition">Null to read from the oldest retained entry.</param>
    /// <param name="count">At most this many entries (1 to 1000).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<RevocationPage> ReadRevocationsAsync(string tenant, StreamPosition? afterPosition, int count, CancellationToken cancellationToken);

    /// <summary>
    /// The position of the newest entry of a tenant's revocation stream, or of its start when it has none: reading
    /// after it returns exactly the revocations made later, without reporting lost history unless later entries
    /// were trimmed. The feed hands it to a verifier that connects without a position, so that its next connection
    /// resumes rather than starting over.
    /// </summary>
    /// <param name="tenant">The tenant.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<StreamPosition> GetRevocationPositionAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>Reads the most recent audit events of a tenant, newest first (null tenant: the global stream).</summary>
    /// <param name="tenant">The tenant, or null (or empty) for the events with no tenant.</param>
    /// <param name="count">At most this many events (1 to 1000).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<IReadOnlyList<AuditEvent>> ReadAuditAsync(string? tenant, int count, CancellationToken cancellationToken);

    /// <summary>
    /// Starts a live feed of revocations made by any replica. The feed is active when the returned task completes:
    /// every revocation made after that is announced (best effort; see <see cref="RevocationSubscription"/>).
    /// </summary>
    ValueTask<RevocationSubscription> SubscribeRevocationsAsync(CancellationToken cancellationToken);

    /// <summary>True when the store can serve requests now (for <c>/readyz</c>); never throws for an unreachable store.</summary>
    ValueTask<bool> IsReadyAsync(CancellationToken cancellationToken);
}
