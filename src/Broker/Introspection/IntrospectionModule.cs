using Broker.Authentication;
using Broker.Errors;
using Broker.OAuth;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Broker.Introspection;

/// <summary>Token introspection (RFC 7662), for resource servers that prefer to ask online.</summary>
internal static class IntrospectionModule
{
    /// <summary>The audit event type of a refused introspection caller.</summary>
    public const string Action = "token.introspect";

    public static void Register(IServiceCollection services) => services.TryAddSingleton<IntrospectionEndpoint>();

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        // POST /oauth2/introspect — RFC 7662 §2.1; callers authenticate with their workload identity and
        // must belong to a tenant (they learn only about that tenant's tokens).
        endpoints.MapOAuthPost("/oauth2/introspect", (HttpContext c, IntrospectionEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .RequireAuthorization(WorkloadPolicies.TenantMember)
            .WithMetadata(new WorkloadEndpointMetadata(Action, ErrorCatalog.IntrospectionUnauthenticated, ErrorCatalog.IntrospectionForbidden));
    }
}
