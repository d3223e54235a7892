using Broker.Authentication;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.Admin;

/// <summary>The admin API at <c>/admin/v1</c>: grants and the audit trail, for authenticated admins.</summary>
internal static class AdminModule
{
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AdminOptions>().Bind(configuration.GetSection("Broker:Admin")).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AdminOptions>, AdminOptionsValidator>());
        services.TryAddSingleton<AdminGate>();
        services.TryAddSingleton<GetGrantEndpoint>();
        services.TryAddSingleton<ListGrantsEndpoint>();
        services.TryAddSingleton<RevokeGrantEndpoint>();
        services.TryAddSingleton<BulkRevokeEndpoint>();
        services.TryAddSingleton<ReadAuditEndpoint>();
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        // Every route authenticates with the Workload scheme before anything of the request is read, and
        // names its policy: the tenant of a query is checked by the route's policy, the tenant of a stored
        // grant or of a body by the endpoint once it knows it (AdminGate).
        var admin = endpoints.MapGroup("/admin/v1").DisableAntiforgery();

        // GET /admin/v1/grants/{grant_id} — one grant.
        admin.MapGet("/grants/{grantId}", (HttpContext c, string grantId, GetGrantEndpoint e, CancellationToken ct) => e.HandleAsync(c, grantId, ct))
            .RequireAuthorization(WorkloadPolicies.Admin)
            .WithMetadata(WorkloadEndpointMetadata.ForAdmin(GetGrantEndpoint.Action));

        // GET /admin/v1/grants?tenant=&subject=|task_id=&limit=&cursor= — a page of grants.
        admin.MapGet("/grants", (HttpContext c, ListGrantsEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .RequireAuthorization(WorkloadPolicies.TenantAdmin)
            .WithMetadata(WorkloadEndpointMetadata.ForAdmin(ListGrantsEndpoint.Action));

        // POST /admin/v1/grants/{grant_id}/revoke — revoke one grant.
        admin.MapPost("/grants/{grantId}/revoke", (HttpContext c, string grantId, RevokeGrantEndpoint e, CancellationToken ct) => e.HandleAsync(c, grantId, ct))
            .RequireAuthorization(WorkloadPolicies.Admin)
            .WithMetadata(WorkloadEndpointMetadata.ForAdmin(RevokeGrantEndpoint.Action));

        // POST /admin/v1/grants/revoke — revoke the grants of a tenant, subject or task.
        admin.MapPost("/grants/revoke", (HttpContext c, BulkRevokeEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .RequireAuthorization(WorkloadPolicies.Admin)
            .WithMetadata(WorkloadEndpointMetadata.ForAdmin(BulkRevokeEndpoint.Action));

        // GET /admin/v1/audit?tenant=&limit= — the newest audit events (no tenant: global admins only).
        admin.MapGet("/audit", (HttpContext c, ReadAuditEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .RequireAuthorization(WorkloadPolicies.TenantAdmin)
            .WithMetadata(WorkloadEndpointMetadata.ForAdmin(ReadAuditEndpoint.Action));
    }
}
