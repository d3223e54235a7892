using System.Text.Json.Serialization;

namespace Broker.Contracts.Admin;

/// <summary>A grant as the admin API shows it (<c>GET /admin/v1/grants/{grant_id}</c>, and each of a page).</summary>
/// <param name="GrantId">The grant's id: the <c>jti</c> of its token.</param>
/// <param name="Tenant">The tenant the grant counts in (for a shared capability, the owner's).</param>
/// <param name="Subject">The workload the token was issued to.</param>
/// <param name="ClientId">The client that presented the exchange.</param>
/// <param name="ActorChain">The delegation chain, outermost actor first; empty without delegation.</param>
/// <param name="Capabilities">The capabilities granted.</param>
/// <param name="Audience">The resource the token is for.</param>
/// <param name="TaskId">The task the grant was asked for.</param>
/// <param name="Purpose">The purpose given with the request.</param>
/// <param name="IssuedAt">When the token was issued.</param>
/// <param name="ExpiresAt">When the token expires.</param>
/// <param name="PolicyVersion">The policy version that allowed it.</param>
/// <param name="ParentGrantId">For a delegated grant, the grant it was derived from.</param>
/// <param name="Binding">The proof-of-possession binding (<c>cnf</c>), if the token is bound.</param>
/// <param name="Status"><c>active</c>, <c>expired</c> or <c>revoked</c>.</param>
/// <param name="Revocation">When, by whom and why, for a revoked grant.</param>
/// <param name="ConsumerTenant">For a capability shared across tenants: the consuming tenant (the subject's own).</param>
public sealed record GrantView(
    string GrantId,
    string Tenant,
    string Subject,
    string ClientId,
    IReadOnlyList<string> ActorChain,
    IReadOnlyList<string> Capabilities,
    string Audience,
    string TaskId,
    string Purpose,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string PolicyVersion,
    string? ParentGrantId,
    GrantBindingView? Binding,
    string Status,
    RevocationView? Revocation,
    string? ConsumerTenant = null);

/// <summary>The <c>cnf</c> binding of a grant (RFC 7800 §3.1 member names: RFC 9449 §6.1 <c>jkt</c>, RFC 8705 §3.1 <c>x5t#S256</c>).</summary>
/// <param name="Jkt">The JWK SHA-256 thumbprint of a DPoP-bound token's key.</param>
/// <param name="X5tS256">The SHA-256 thumbprint of a certificate-bound token's client certificate.</param>
public sealed record GrantBindingView(
    [property: JsonPropertyName("jkt")] string? Jkt,
    [property: JsonPropertyName("x5t#S256")] string? X5tS256);

/// <summary>When, by whom and why a grant was revoked.</summary>
/// <param name="RevokedAt">When the revocation was recorded.</param>
/// <param name="RevokedBy">The admin who revoked it.</param>
/// <param name="Reason">The reason given.</param>
public sealed record RevocationView(DateTimeOffset RevokedAt, string RevokedBy, string Reason);

/// <summary>A page of grants (<c>GET /admin/v1/grants</c>).</summary>
/// <param name="Grants">The grants of this page.</param>
/// <param name="NextCursor">The cursor of the next page; written as <c>null</c> on the last page.</param>
public sealed record GrantListView(
    IReadOnlyList<GrantView> Grants,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? NextCursor);

/// <summary>The outcome of revoking one grant (<c>POST /admin/v1/grants/{grant_id}/revoke</c>).</summary>
/// <param name="GrantId">The grant.</param>
/// <param name="Result"><c>revoked</c> or <c>already_revoked</c>.</param>
/// <param name="RevokedAt">When it was revoked (by this call or an earlier one).</param>
public sealed record RevokeView(string GrantId, string Result, DateTimeOffset? RevokedAt);

/// <summary>The body of a single revocation.</summary>
/// <param name="Reason">Why; recorded with the revocation and in the audit trail.</param>
public sealed record RevokeRequest(string? Reason);

/// <summary>The body of a bulk revocation (<c>POST /admin/v1/grants/revoke</c>).</summary>
/// <param name="Tenant">The tenant whose grants are revoked.</param>
/// <param name="Subject">Only this workload's grants.</param>
/// <param name="TaskId">Only this task's grants.</param>
/// <param name="Reason">Why; recorded with each revocation and in the audit trail.</param>
public sealed record BulkRevokeRequest(string? Tenant, string? Subject, string? TaskId, string? Reason)
{
    /// <summary>The owner's filter: only its grants shared with this consuming tenant.</summary>
    public string? ConsumerTenant { get; init; }

    /// <summary>The consumer's scope: its workloads' grants of what this owning tenant shares with it.</summary>
    public string? SharedBy { get; init; }
}

/// <summary>The outcome of a bulk revocation.</summary>
/// <param name="Revoked">How many grants this call revoked.</param>
public sealed record BulkRevokeView(int Revoked);
