using Broker.OAuth;
using Broker.RateLimiting;
using Broker.Tokens;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Broker.Exchange;

/// <summary>The token-exchange endpoint and its pipeline.</summary>
internal static class ExchangeModule
{
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ExchangeOptions>().Bind(configuration.GetSection("Broker:Exchange"));
        services.TryAddSingleton<CapabilityTokenIssuer>();
        services.TryAddSingleton<CapabilityTokenReader>();
        services.TryAddSingleton<TokenExchangeService>();
        services.TryAddSingleton<ExchangeTelemetry>();
        services.TryAddSingleton<TokenEndpoint>();
        services.TryAddSingleton<ExchangeRateLimiter>();
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        // POST /oauth2/token — RFC 8693 token exchange and RFC 7523 jwt-bearer grant. Anonymous at the HTTP layer:
        // the subject token (or assertion) is the credential (there are no client secrets). An address that keeps
        // presenting refused tokens gets 429 before its form is read, whichever grant it uses.
        endpoints.MapOAuthPost(
                TokenEndpoint.Path,
                (HttpContext context, TokenEndpoint endpoint, CancellationToken ct) => endpoint.HandleAsync(context, ct),
                context => context.RequestServices.GetRequiredService<TokenEndpoint>().MethodNotAllowedAsync(context))
            .AllowAnonymous()
            .AddEndpointFilter<FailedAuthenticationFilter>();
    }
}
