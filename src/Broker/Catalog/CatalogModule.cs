using Broker.Authentication;
using Broker.Catalog.InMemory;
using Broker.Catalog.Redis;
using Broker.Errors;
using Broker.Grants;
using Broker.Grants.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.Catalog;

/// <summary>
/// The capability catalog at <c>/catalog/v1</c> (docs/catalog.md): workloads publish what their MCP servers serve and
/// discover what they may use. The store follows the grant store: Redis when it is Redis, memory otherwise.
/// </summary>
internal static class CatalogModule
{
    /// <summary>The route prefix, advertised in the RFC 8414 metadata as <c>catalog_endpoint</c>.</summary>
    public const string Path = "/catalog/v1";

    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CatalogOptions>().Bind(configuration.GetSection(CatalogOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CatalogOptions>, CatalogOptionsValidator>());

        // The catalog writes into the grant store's revocation and audit streams in its own atomic steps, so it is the
        // same kind of store, on the same data, chosen the same way (GrantsModule): Redis when it is configured.
        if (string.IsNullOrWhiteSpace(configuration[$"{RedisOptions.SectionName}:{nameof(RedisOptions.Configuration)}"]))
        {
            services.TryAddSingleton<ICatalogStore>(sp => new InMemoryCatalogStore(sp.GetRequiredService<IGrantStore>()));
        }
        else
        {
            services.TryAddSingleton<ICatalogStore, RedisCatalogStore>();
        }

        services.TryAddSingleton<CatalogGate>();
        services.TryAddSingleton<PublishingGate>();
        services.TryAddSingleton<DiscoveryEndpoint>();
        services.TryAddSingleton<GetPublicationEndpoint>();
        services.TryAddSingleton<PublishEndpoint>();
        services.TryAddSingleton<UnpublishEndpoint>();
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        // Every route authenticates with the Workload scheme and needs a workload of a tenant; what it may publish and
        // discover is decided inside, by the rules of its tenant.
        var catalog = endpoints.MapGroup(Path).DisableAntiforgery();

        // GET /catalog/v1/capabilities?resource=&purpose=&grant_id= — what the caller may discover, and whether it could execute it.
        catalog.MapGet("/capabilities", (HttpContext c, DiscoveryEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .RequireAuthorization(WorkloadPolicies.TenantMember)
            .WithMetadata(Metadata(DiscoveryEndpoint.Action));

        // GET /catalog/v1/resources?resource= — a resource's publication, as far as the caller may see it.
        catalog.MapGet("/resources", (HttpContext c, GetPublicationEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .RequireAuthorization(WorkloadPolicies.TenantMember)
            .WithMetadata(Metadata(GetPublicationEndpoint.Action));

        // PUT /catalog/v1/resources?resource= — publish a resource's tools (If-Match / If-None-Match: *).
        catalog.MapPut("/resources", (HttpContext c, PublishEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .RequireAuthorization(WorkloadPolicies.TenantMember)
            .WithMetadata(Metadata(PublishEndpoint.Action));

        // DELETE /catalog/v1/resources?resource= — unpublish it.
        catalog.MapDelete("/resources", (HttpContext c, UnpublishEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .RequireAuthorization(WorkloadPolicies.TenantMember)
            .WithMetadata(Metadata(UnpublishEndpoint.Action));
    }

    private static WorkloadEndpointMetadata Metadata(string action) => new(action, ErrorCatalog.CatalogUnauthenticated, ErrorCatalog.CatalogForbidden);
}
