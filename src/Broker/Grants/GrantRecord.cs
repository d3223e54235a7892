namespace Broker.Grants;

/// <summary>
/// One minted capability token, as recorded before the token leaves the broker.
/// The grant ID is the token's <c>jti</c>.
/// </summary>
internal sealed record GrantRecord
{
    /// <summary>The grant ID, equal to the token's <c>jti</c>.</summary>
    public required string Id { get; init; }

    /// <summary>The tenant whose policy allowed the grant.</summary>
    public required string Tenant { get; init; }

    /// <summary>The workload identity the token speaks for (its <c>sub</c>).</summary>
    public required string Subject { get; init; }

    /// <summary>The OAuth client that asked: the current actor when delegated, otherwise the subject.</summary>
    public required string ClientId { get; init; }

    /// <summary>The delegation chain, current actor first (RFC 8693 §4.1 nesting order); empty when not delegated.</summary>
    public IReadOnlyList<string> ActorChain { get; init; } = [];

    /// <summary>The capabilities granted (the token's <c>scope</c>).</summary>
    public required IReadOnlyList<string> Capabilities { get; init; }

    /// <summary>The token's audience: the MCP server's resource URI or logical audience.</summary>
    public required string Audience { get; init; }

    /// <summary>The task the grant was issued for.</summary>
    public required string TaskId { get; init; }

    /// <summary>The declared purpose of the task.</summary>
    public required string Purpose { get; init; }

    /// <summary>When the token was issued.</summary>
    public required DateTimeOffset IssuedAt { get; init; }

    /// <summary>When the token expires.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The proof-of-possession binding (<c>cnf</c>), when the token is sender-constrained.</summary>
    public GrantBinding? Binding { get; init; }

    /// <summary>The content hash of the policy that allowed the grant.</summary>
    public required string PolicyVersion { get; init; }

    /// <summary>The grant this one was narrowed or delegated from, when the subject was one of our own tokens.</summary>
    public string? ParentGrantId { get; init; }

    /// <summary>
    /// The grant's index in its tenant's status list: the token's <c>status.status_list.idx</c>
    /// (draft-ietf-oauth-status-list §6.2). Chosen by the store when it records the grant (whatever is set here is
    /// ignored); null when the status list is off, or for grants recorded without one.
    /// </summary>
    public int? StatusIndex { get; init; }

    /// <summary>
    /// For a capability shared across tenants (docs/sharing.md): the consuming tenant, the subject's own;
    /// <see cref="Tenant"/> is then the owner, whose admins, indexes and revocation feed the grant is in. Null otherwise.
    /// </summary>
    public string? ConsumerTenant { get; init; }

    /// <summary>Active or revoked.</summary>
    public GrantStatus Status { get; init; } = GrantStatus.Active;

    /// <summary>When, by whom and why the grant was revoked; null while active.</summary>
    public GrantRevocation? Revocation { get; init; }

    /// <summary>
    /// The limits of the grant's task that the store checks when it records the grant, atomically with the record
    /// (<see cref="TaskLimitCheck"/>); null for none. Not stored: a grant read back has none.
    /// </summary>
    public TaskLimitCheck? TaskLimits { get; init; }
}

/// <summary>The state of a grant.</summary>
internal enum GrantStatus
{
    /// <summary>The token may be honoured until it expires.</summary>
    Active = 0,

    /// <summary>The token must no longer be honoured.</summary>
    Revoked = 1,
}

/// <summary>A <c>cnf</c> confirmation: exactly one of the members is set.</summary>
/// <param name="JwkThumbprint">RFC 9449 <c>jkt</c>: the RFC 7638 thumbprint of the DPoP key.</param>
/// <param name="X509Thumbprint">RFC 8705 <c>x5t#S256</c>: the SHA-256 thumbprint of the client certificate.</param>
internal sealed record GrantBinding(string? JwkThumbprint, string? X509Thumbprint);

/// <summary>Who revoked a grant, when and why.</summary>
internal sealed record GrantRevocation(DateTimeOffset RevokedAt, string RevokedBy, string Reason);
