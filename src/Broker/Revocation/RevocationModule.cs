using Broker.OAuth;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Broker.Revocation;

/// <summary>Token revocation by its holder (RFC 7009).</summary>
internal static class RevocationModule
{
    public static void Register(IServiceCollection services) => services.TryAddSingleton<TokenRevocationEndpoint>();

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        // POST /oauth2/revoke — RFC 7009; the token itself authorises its revocation. revoke_task=true also
        // needs the subject's own workload credential, which the endpoint asks the Workload scheme for.
        endpoints.MapOAuthPost("/oauth2/revoke", (HttpContext c, TokenRevocationEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .AllowAnonymous();
    }
}
