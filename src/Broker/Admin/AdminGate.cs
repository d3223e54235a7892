using Broker.Audit;
using Broker.Authentication;
using Broker.Grants;
using Broker.Policy;
using Microsoft.AspNetCore.Authorization;

namespace Broker.Admin;

/// <summary>
/// What admin endpoints still do themselves once the <see cref="WorkloadAuthenticationDefaults.Scheme"/> scheme
/// has authenticated the caller and the route's policy has let it in: the per-tenant check when the tenant is
/// only known inside (a stored grant's, a request body's), and the audit of admin actions with the admin's
/// identity (source-qualified, <see cref="WorkloadPrincipal.QualifiedId"/>).
/// </summary>
internal sealed class AdminGate(IAuthorizationService authorization, IPolicyProvider policyProvider, AuditTrail audit, TimeProvider timeProvider)
{
    /// <summary>The authenticated admin of this request (the route's policy guarantees one).</summary>
    public static WorkloadPrincipal Caller(HttpContext context) =>
        WorkloadPrincipal.From(context?.User) ?? throw new InvalidOperationException("Admin routes require the Workload authentication scheme.");

    /// <summary>True when the caller administers <paramref name="tenant"/> (<see cref="WorkloadPolicies.TenantAdmin"/>).</summary>
    public async Task<bool> MayAdministerAsync(HttpContext context, TenantResource tenant)
    {
        ArgumentNullException.ThrowIfNull(context);
        return (await authorization.AuthorizeAsync(context.User, tenant, WorkloadPolicies.TenantAdmin)).Succeeded;
    }

    /// <summary>
    /// True when the caller administers the grant's tenant, or, for a grant of a capability shared across tenants, the
    /// consuming tenant, whose admins see and revoke their workloads' grants (docs/sharing.md).
    /// </summary>
    public async Task<bool> MayAdministerGrantAsync(HttpContext context, Grants.GrantRecord grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        return await MayAdministerAsync(context, new TenantResource(grant.Tenant, FromRequest: false))
            || (grant.ConsumerTenant is { } consumer && await MayAdministerAsync(context, new TenantResource(consumer, FromRequest: false)));
    }

    /// <summary>
    /// The tenant to file a refusal under when the caller wrote the name: that tenant if policy knows it, else the
    /// caller's own, else none. A made-up name never creates a stream of its own.
    /// </summary>
    public string? KnownTenant(string? tenant, WorkloadPrincipal caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var tenants = policyProvider.Current?.Tenants;
        return tenant is not null && tenants?.ContainsKey(tenant) == true ? tenant
            : caller.Tenant is { } own && tenants?.ContainsKey(own) == true ? own
            : null;
    }

    /// <summary>The log line of a revocation the store audited atomically.</summary>
    public void LogRevocation(HttpContext context, string admin, string tenant, string grantId, string reason) =>
        audit.LogRecorded(new AuditEvent
        {
            Type = AuditEventTypes.GrantRevoked,
            Time = timeProvider.GetUtcNow(),
            Outcome = AuditOutcome.Allowed,
            Reason = reason,
            Tenant = tenant,
            Actor = admin,
            GrantId = grantId,
            ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
        });

    /// <summary>Audits an admin action with the admin's identity.</summary>
    public ValueTask AuditAsync(HttpContext context, string action, string? admin, string? tenant, AuditOutcome outcome, string? reason, string? grantId = null) =>
        audit.RecordAsync(new AuditEvent
        {
            Type = action,
            Time = timeProvider.GetUtcNow(),
            Outcome = outcome,
            Reason = reason,
            Tenant = tenant,
            Actor = admin,
            GrantId = grantId,
            ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
        }, CancellationToken.None);
}
