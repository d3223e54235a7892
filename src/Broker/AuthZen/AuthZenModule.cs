using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.AuthZen;

/// <summary>
/// External decision points (OpenID AuthZEN Authorization API 1.0): tenants declare them in policy, rules delegate to
/// them, and the exchange asks them after its own decision (<see cref="AuthZenGate"/>).
/// </summary>
internal static class AuthZenModule
{
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuthZenOptions>().Bind(configuration.GetSection(AuthZenOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AuthZenOptions>, AuthZenOptionsValidator>());

        // Only the URL policy names is called: no redirects, no cookies, bounded answers. Each call has its decision
        // point's own timeout (at most DecisionPoint.MaxTimeout); this one is a backstop.
        services.AddHttpClient(DecisionPointClient.HttpClientName, client =>
            {
                client.Timeout = Broker.Policy.DecisionPoint.MaxTimeout + TimeSpan.FromSeconds(5);
                client.MaxResponseContentBufferSize = 1024 * 1024;
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            });
        services.TryAddSingleton<DecisionPointClient>();
        services.TryAddSingleton<AuthZenDecisionCache>();
        services.TryAddSingleton<AuthZenGate>();
    }
}
