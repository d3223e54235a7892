using Broker.Errors;
using Broker.Audit;
using Broker.Grants;

namespace Broker.Admin;

/// <summary>
/// <c>GET /admin/v1/audit?tenant=…</c>: the newest audit events of a tenant; without <c>tenant</c>, the events
/// that have none (refusals before a tenant was known), for global admins. The route's policy
/// (<see cref="Authentication.WorkloadPolicies.TenantAdmin"/>) has checked which applies.
/// </summary>
internal sealed class ReadAuditEndpoint(AdminGate gate, IGrantStore store)
{
    public const string Action = "admin.audit.read";

    public async Task<IResult> HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var tenant = context.Request.Query["tenant"].ToString();
        if (!AdminInput.TryLimit(context.Request.Query["limit"], out var limit) || tenant.Length > 128)
        {
            return ErrorWriter.Result(ErrorCatalog.AdminInvalidAuditQuery);
        }

        var scope = tenant.Length == 0 ? null : tenant;
        var admin = AdminGate.Caller(context);
        var events = await store.ReadAuditAsync(scope, limit, cancellationToken);
        await gate.AuditAsync(context, Action, admin.QualifiedId, scope, AuditOutcome.Allowed, null);
        return Results.Json(new AuditListView(events), AdminJsonContext.Default.AuditListView);
    }
}
