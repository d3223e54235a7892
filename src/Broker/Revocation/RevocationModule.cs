using Broker.Authentication;
using Broker.Errors;
using Broker.Introspection;
using Broker.OAuth;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Broker.Revocation;

/// <summary>Token revocation (RFC 7009) and introspection (RFC 7662).</summary>
internal static class RevocationModule
{
    /// <summary>The audit event type of a refused introspection caller.</summary>
    public const string IntrospectionAction = "token.introspect";

    public static void Register(IServiceCollection services)
    {
        services.TryAddSingleton<TokenRevocationEndpoint>();
        services.TryAddSingleton<IntrospectionEndpoint>();
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        // POST /oauth2/revoke — RFC 7009; the token itself authorises its revocation. revoke_task=true also
        // needs the subject's own workload credential, which the endpoint asks the Workload scheme for.
        endpoints.MapOAuthPost("/oauth2/revoke", (HttpContext c, TokenRevocationEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .AllowAnonymous();

        // POST /oauth2/introspect — RFC 7662 §2.1; callers authenticate with their workload identity and
        // must belong to a tenant (they learn only about that tenant's tokens).
        endpoints.MapOAuthPost("/oauth2/introspect", (HttpContext c, IntrospectionEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .RequireAuthorization(WorkloadPolicies.TenantMember)
            .WithMetadata(new WorkloadEndpointMetadata(IntrospectionAction, ErrorCatalog.IntrospectionUnauthenticated, ErrorCatalog.IntrospectionForbidden));
    }
}
