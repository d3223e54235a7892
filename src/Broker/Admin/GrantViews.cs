using Broker.Contracts.Admin;
using Broker.Grants;

namespace Broker.Admin;

/// <summary>A grant record as the admin API shows it (the wire model is <see cref="GrantView"/>, shared with brokerctl).</summary>
internal static class GrantViews
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

/// <summary>A page of audit events (brokerctl reads them as raw JSON: the event is the broker's own model).</summary>
internal sealed record AuditListView(IReadOnlyList<Audit.AuditEvent> Events);
