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
        // Authentication and authorisation are per route, in AdminGate: the admin's tenant is only
        // known once the token is validated against policy.
        var admin = endpoints.MapGroup("/admin/v1").AllowAnonymous().DisableAntiforgery();

        // GET /admin/v1/grants/{grant_id} — one grant.
        admin.MapGet("/grants/{grantId}", (HttpContext c, string grantId, GetGrantEndpoint e, CancellationToken ct) => e.HandleAsync(c, grantId, ct));

        // GET /admin/v1/grants?tenant=&subject=|task_id=&limit=&cursor= — a page of grants.
        admin.MapGet("/grants", (HttpContext c, ListGrantsEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct));

        // POST /admin/v1/grants/{grant_id}/revoke — revoke one grant.
        admin.MapPost("/grants/{grantId}/revoke", (HttpContext c, string grantId, RevokeGrantEndpoint e, CancellationToken ct) => e.HandleAsync(c, grantId, ct));

        // POST /admin/v1/grants/revoke — revoke the grants of a tenant, subject or task.
        admin.MapPost("/grants/revoke", (HttpContext c, BulkRevokeEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct));

        // GET /admin/v1/audit?tenant=&limit= — the newest audit events.
        admin.MapGet("/audit", (HttpContext c, ReadAuditEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct));
    }
}
