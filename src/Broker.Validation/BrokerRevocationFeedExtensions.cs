// Broker.Validation — resource servers honour broker tokens.

using Broker.Validation.Revocation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the client of the broker's revocation feed, and its health check.</summary>
public static class BrokerRevocationFeedExtensions
{
    /// <summary>
    /// Follows the broker's revocation feed (its metadata's <c>revocation_events_endpoint</c>) in the background,
    /// filling the <see cref="RevokedGrantSet"/> every broker token is checked against. Set
    /// <see cref="Broker.Validation.RevocationPolicy.MaxStaleness"/> on the token scheme so a silent feed fails closed.
    /// </summary>
    public static IServiceCollection AddBrokerRevocationFeed(this IServiceCollection services, Action<RevocationFeedOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        services.AddOptions<RevocationFeedOptions>().Configure(configure).ValidateOnStart();
        if (services.Any(d => d.ServiceType == typeof(RevocationFeedClient)))
        {
            // Called again: the configuration adds up, and there is still one client.
            return services;
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RevocationFeedOptions>, RevocationFeedOptionsValidator>());
        services.TryAddSingleton(sp => new RevokedGrantSet(sp.GetRequiredService<TimeProvider>()));

        // A long-lived stream: no overall timeout (silence is bounded by FreshnessWindow instead), no redirects (the
        // credential goes to the broker's origin only), no cookies.
        BrokerEndpointClient.Register<RevocationFeedClient>(services, RevocationFeedClient.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        return services;
    }

    /// <summary>
    /// Adds a health check that is healthy while the revocation feed is connected and heard from within
    /// <see cref="RevocationFeedOptions.FreshnessWindow"/>. Requires <see cref="AddBrokerRevocationFeed"/>.
    /// </summary>
    public static IHealthChecksBuilder AddBrokerRevocationFeedHealthCheck(
        this IHealthChecksBuilder builder, string name = "broker-revocation-feed", HealthStatus failureStatus = HealthStatus.Unhealthy)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddCheck<RevocationFeedHealthCheck>(name, failureStatus, ["broker", "revocation"]);
    }
}
