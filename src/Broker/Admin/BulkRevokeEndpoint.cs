using Broker.Errors;
using Broker.Audit;
using Broker.Authentication;
using Broker.Grants;
using Broker.Policy;
using Broker.Contracts.Admin;

namespace Broker.Admin;

/// <summary>
/// <c>POST /admin/v1/grants/revoke</c>: revoke every grant of a tenant, subject or task; with <c>consumer_tenant</c>,
/// only the owner's grants shared with that tenant; with <c>shared_by</c>, the consuming tenant's grants of what that
/// owner shares with it (docs/sharing.md).
/// </summary>
internal sealed class BulkRevokeEndpoint(AdminGate gate, IGrantStore store)
{
    public const string Action = "admin.grants.revoke";

    public async Task<IResult> HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var body = await AdminJson.ReadAsync(context, AdminApiJsonContext.Default.BulkRevokeRequest, cancellationToken);
        if (body is null || string.IsNullOrEmpty(body.Tenant) || !AdminInput.IsValidReason(body.Reason)
            || (body.Subject is not null && body.TaskId is not null)
            || body.Subject is { Length: 0 or > 2048 }
            || (body.TaskId is not null && !Grammar.IsTaskContextValue(body.TaskId))
            || !SharedGrants.AreValid(body.ConsumerTenant, body.SharedBy))
        {
            return ErrorWriter.Result(ErrorCatalog.AdminInvalidBulkRevokeBody);
        }

        // The tenant is in the body, so it is checked here rather than by the route's policy.
        var admin = AdminGate.Caller(context);
        if (!await gate.MayAdministerAsync(context, new TenantResource(body.Tenant, FromRequest: true)))
        {
            await gate.AuditAsync(context, Action, admin.QualifiedId, gate.KnownTenant(body.Tenant, admin), AuditOutcome.Denied, "admin.forbidden");
            return ErrorWriter.Result(ErrorCatalog.AdminForbidden);
        }

        var count = body.SharedBy is { } owner ? await SharedGrants.RevokeAllAsync(store, new GrantQuery(owner, body.Subject, body.TaskId), body.Tenant, admin.QualifiedId, body.Reason!, cancellationToken)
            : body.ConsumerTenant is { } consumer ? await SharedGrants.RevokeAllAsync(store, new GrantQuery(body.Tenant, body.Subject, body.TaskId), consumer, admin.QualifiedId, body.Reason!, cancellationToken)
            : await store.RevokeAllAsync(new GrantQuery(body.Tenant, body.Subject, body.TaskId), admin.QualifiedId, body.Reason!, cancellationToken);
        await gate.AuditAsync(context, Action, admin.QualifiedId, body.Tenant, AuditOutcome.Allowed, $"{count} revoked: {body.Reason}");
        return Results.Json(new BulkRevokeView(count), AdminApiJsonContext.Default.BulkRevokeView);
    }
}
