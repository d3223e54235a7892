using Broker.Errors;
using Broker.Audit;
using Broker.Grants;
using Broker.Policy;
using Broker.Contracts.Admin;

namespace Broker.Admin;

/// <summary>
/// <c>GET /admin/v1/grants?tenant=…</c>: a page of a tenant's grants, optionally of one subject or task. The
/// route's policy (<see cref="Authentication.WorkloadPolicies.TenantAdmin"/>) has checked the caller
/// administers <c>tenant</c>. Sharing across tenants (docs/sharing.md): <c>consumer_tenant=C</c> narrows the owner's
/// grants to those of consuming tenant C; <c>shared_by=O</c> lists, for the admin of consuming <c>tenant</c>, its
/// workloads' grants of what tenant O shares with it (read from O's index, filtered by <c>tenant</c>).
/// </summary>
internal sealed class ListGrantsEndpoint(AdminGate gate, IGrantStore store, TimeProvider timeProvider)
{
    public const string Action = "admin.grants.list";

    public async Task<IResult> HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var query = context.Request.Query;
        string? tenant = query["tenant"], subject = query["subject"], taskId = query["task_id"], cursor = query["cursor"];
        string? consumer = query["consumer_tenant"], sharedBy = query["shared_by"];
        if (string.IsNullOrEmpty(tenant) || (subject is not null && taskId is not null)
            || query["consumer_tenant"].Count > 1 || query["shared_by"].Count > 1 || !SharedGrants.AreValid(consumer, sharedBy)
            || subject is { Length: 0 or > 2048 } || (taskId is not null && !Grammar.IsTaskContextValue(taskId))
            || cursor is { Length: > 512 } || !AdminInput.TryLimit(query["limit"], out var limit))
        {
            return ErrorWriter.Result(ErrorCatalog.AdminInvalidListQuery);
        }

        var admin = AdminGate.Caller(context);
        try
        {
            var page = sharedBy is not null ? await SharedGrants.ListAsync(store, new GrantQuery(sharedBy, subject, taskId), tenant, cursor, limit, cancellationToken)
                : consumer is not null ? await SharedGrants.ListAsync(store, new GrantQuery(tenant, subject, taskId), consumer, cursor, limit, cancellationToken)
                : await store.ListAsync(new GrantQuery(tenant, subject, taskId), cursor, limit, cancellationToken);
            await gate.AuditAsync(context, Action, admin.QualifiedId, tenant, AuditOutcome.Allowed, null);
            var now = timeProvider.GetUtcNow();
            return Results.Json(new GrantListView([.. page.Grants.Select(g => GrantViews.From(g, now))], page.NextCursor), AdminApiJsonContext.Default.GrantListView);
        }
        catch (ArgumentException)
        {
            return ErrorWriter.Result(ErrorCatalog.AdminInvalidCursor);
        }
    }
}
