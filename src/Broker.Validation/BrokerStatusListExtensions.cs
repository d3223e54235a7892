// Broker.Validation — resource servers honour broker tokens.

using Broker.Validation;
using Broker.Validation.Revocation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the client of the broker's Token Status List, and its health check.</summary>
public static class BrokerStatusListExtensions
{
    /// <summary>
    /// Polls the broker's Token Status List of the scheme's tenant (its metadata's <c>status_list_endpoint</c>) in the
    /// background, and checks every broker token's <c>status</c> against it (<see cref="StatusListRevocationCheck"/>):
    /// the alternative to <c>AddBrokerRevocationFeed</c> for servers that poll rather than hold a stream open, or a
    /// second source beside it. Fails closed by default: unless the scheme sets its own
    /// <see cref="RevocationPolicy.MaxStaleness"/>, it becomes <see cref="StatusListOptions.MaxAge"/>.
    /// </summary>
    /// <remarks>
    /// Replaces the default <see cref="IRevocationCheck"/> (the feed's <see cref="RevokedGrantSet"/>, which the status
    /// list check still consults); an <see cref="IRevocationCheck"/> the application registered itself stays.
    /// </remarks>
    public static IServiceCollection AddBrokerStatusList(this IServiceCollection services, Action<StatusListOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        services.AddOptions<StatusListOptions>().Configure(configure ?? (_ => { })).ValidateOnStart();
        if (services.Any(d => d.ServiceType == typeof(StatusListClient)))
        {
            // Called again: the configuration adds up, and there is still one client.
            return services;
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StatusListOptions>, StatusListOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<BrokerTokenOptions>, StatusListStalenessSetup>());
        services.TryAddSingleton(sp => new RevokedGrantSet(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new StatusListRevocationCheck(sp.GetRequiredService<RevokedGrantSet>(), sp.GetRequiredService<TimeProvider>()));

        // Whether AddBrokerTokens ran before or runs after: its default is replaced here, or not added there (TryAdd).
        var current = services.FirstOrDefault(d => d.ServiceType == typeof(IRevocationCheck));
        if (current is null || current.ImplementationFactory == BrokerTokenAuthenticationExtensions.DefaultRevocationCheck)
        {
            services.Replace(ServiceDescriptor.Singleton<IRevocationCheck>(sp => sp.GetRequiredService<StatusListRevocationCheck>()));
        }

        // The broker's origin only (the URL comes from its metadata): no redirects, no cookies, and no credential.
        BrokerEndpointClient.Register<StatusListClient>(services, StatusListClient.HttpClientName);
        return services;
    }

    /// <summary>
    /// Adds a health check that is healthy while the status list held is unexpired and no older than
    /// <see cref="StatusListOptions.MaxAge"/>. Requires <see cref="AddBrokerStatusList"/>.
    /// </summary>
    public static IHealthChecksBuilder AddBrokerStatusListHealthCheck(
        this IHealthChecksBuilder builder, string name = "broker-status-list", HealthStatus failureStatus = HealthStatus.Unhealthy)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddCheck<StatusListHealthCheck>(name, failureStatus, ["broker", "revocation"]);
    }
}
