using Broker.Introspection;
using Broker.OAuth;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Broker.Revocation;

/// <summary>Token revocation (RFC 7009) and introspection (RFC 7662).</summary>
internal static class RevocationModule
{
    public static void Register(IServiceCollection services)
    {
        services.TryAddSingleton<TokenRevocationEndpoint>();
        services.TryAddSingleton<IntrospectionEndpoint>();
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        // POST /oauth2/revoke — RFC 7009; the token itself authorises its revocation.
        endpoints.MapOAuthPost("/oauth2/revoke", (HttpContext c, TokenRevocationEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .AllowAnonymous();

        // POST /oauth2/introspect — RFC 7662; callers authenticate with their workload identity.
        endpoints.MapOAuthPost("/oauth2/introspect", (HttpContext c, IntrospectionEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .AllowAnonymous();
    }
}
