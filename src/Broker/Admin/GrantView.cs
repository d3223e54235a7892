using Broker.Grants;

namespace Broker.Admin;

/// <summary>A grant as the admin API shows it.</summary>
internal sealed record GrantView(
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
    string? ConsumerTenant = null)
{
    public static GrantView From(GrantRecord grant, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(grant);
        var status = grant.Status == GrantStatus.Revoked ? "revoked" : grant.ExpiresAt <= now ? "expired" : "active";
        return new GrantView(
            grant.Id, grant.Tenant, grant.Subject, grant.ClientId, grant.ActorChain, grant.Capabilities, grant.Audience,
            grant.TaskId, grant.Purpose, grant.IssuedAt, grant.ExpiresAt, grant.PolicyVersion, grant.ParentGrantId,
            grant.Binding is { } b ? new GrantBindingView(b.JwkThumbprint, b.X509Thumbprint) : null,
            status,
            grant.Revocation is { } r ? new RevocationView(r.RevokedAt, r.RevokedBy, r.Reason) : null,
            grant.ConsumerTenant);
    }
}

/// <summary>The <c>cnf</c> binding of a grant.</summary>
internal sealed record GrantBindingView(
    [property: System.Text.Json.Serialization.JsonPropertyName("jkt")] string? Jkt,
    [property: System.Text.Json.Serialization.JsonPropertyName("x5t#S256")] string? X5tS256);

/// <summary>When, by whom and why a grant was revoked.</summary>
internal sealed record RevocationView(DateTimeOffset RevokedAt, string RevokedBy, string Reason);

/// <summary>A page of grants.</summary>
internal sealed record GrantListView(
    IReadOnlyList<GrantView> Grants,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? NextCursor);

/// <summary>The outcome of revoking one grant.</summary>
internal sealed record RevokeView(string GrantId, string Result, DateTimeOffset? RevokedAt);

/// <summary>The body of a single revocation.</summary>
internal sealed record RevokeRequest(string? Reason);

/// <summary>The body of a bulk revocation.</summary>
internal sealed record BulkRevokeRequest(string? Tenant, string? Subject, string? TaskId, string? Reason)
{
    /// <summary>The owner's filter: only its grants shared with this consuming tenant.</summary>
    public string? ConsumerTenant { get; init; }

    /// <summary>The consumer's scope: its workloads' grants of what this owning tenant shares with it.</summary>
    public string? SharedBy { get; init; }
}

/// <summary>The outcome of a bulk revocation.</summary>
internal sealed record BulkRevokeView(int Revoked);

/// <summary>A page of audit events.</summary>
internal sealed record AuditListView(IReadOnlyList<Audit.AuditEvent> Events);
