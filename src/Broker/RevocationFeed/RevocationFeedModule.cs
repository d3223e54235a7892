using Broker.Authentication;
using Broker.Errors;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.RevocationFeed;

/// <summary>The revocation feed: a tenant's revocations as server-sent events, for MCP servers and other verifiers.</summary>
internal static class RevocationFeedModule
{
    /// <summary>The route, also advertised in the RFC 8414 metadata as <c>revocation_events_endpoint</c>.</summary>
    public const string Path = "/revocations/v1/events";

    /// <summary>The audit event type of a refused feed caller.</summary>
    public const string Action = "revocation.feed";

    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RevocationFeedOptions>().Bind(configuration.GetSection(RevocationFeedOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RevocationFeedOptions>, RevocationFeedOptionsValidator>());
        services.TryAddSingleton<FeedConnectionLimit>();
        services.TryAddSingleton<RevocationFeedTelemetry>();
        services.TryAddSingleton<RevocationFeedEndpoint>();
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        // Created now, so the connection count is reported (as zero) before the first verifier connects.
        _ = endpoints.ServiceProvider.GetRequiredService<RevocationFeedTelemetry>();

        // GET /revocations/v1/events — WHATWG HTML server-sent events; callers authenticate with their workload
        // identity and must belong to a tenant: they receive that tenant's revocations only.
        endpoints.MapGet(Path, (HttpContext c, RevocationFeedEndpoint e) => e.HandleAsync(c))
            .RequireAuthorization(WorkloadPolicies.TenantMember)
            .WithMetadata(new WorkloadEndpointMetadata(Action, ErrorCatalog.FeedUnauthenticated, ErrorCatalog.FeedForbidden));
    }
}
