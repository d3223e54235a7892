using Broker.Errors;
using Broker.Audit;
using Broker.Grants;
using Broker.Contracts.Admin;

namespace Broker.Admin;

/// <summary><c>GET /admin/v1/grants/{grant_id}</c>: one grant, to admins of its tenant.</summary>
internal sealed class GetGrantEndpoint(AdminGate gate, IGrantStore store, TimeProvider timeProvider)
{
    public const string Action = "admin.grant.read";

    public async Task<IResult> HandleAsync(HttpContext context, string grantId, CancellationToken cancellationToken)
    {
        var admin = AdminGate.Caller(context);
        var grant = AdminInput.IsValidGrantId(grantId) ? await store.FindAsync(grantId, cancellationToken) : null;

        // Another tenant's grant is "not found": its existence is not this admin's to learn.
        if (grant is null || !await gate.MayAdministerGrantAsync(context, grant))
        {
            await gate.AuditAsync(context, Action, admin.QualifiedId, grant?.Tenant, AuditOutcome.Denied, grant is null ? "admin.not_found" : "admin.forbidden", grant?.Id);
            return ErrorWriter.Result(ErrorCatalog.AdminNotFound);
        }

        await gate.AuditAsync(context, Action, admin.QualifiedId, grant.Tenant, AuditOutcome.Allowed, null, grant.Id);
        return Results.Json(GrantViews.From(grant, timeProvider.GetUtcNow()), AdminApiJsonContext.Default.GrantView);
    }
}
