using Broker.Admin;
using Broker.Dev;
using Broker.Discovery;
using Broker.Exchange;
using Broker.Hosting;
using Broker.Keys;
using Broker.Revocation;
using Broker.Tokens;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps every broker endpoint.</summary>
internal static class BrokerEndpointRouteBuilderExtensions
{
    public static IEndpointRouteBuilder MapBroker(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);

        // Load the signing keys now: a bad key file must stop the start, not the first exchange.
        _ = endpoints.ServiceProvider.GetRequiredService<ISigningKeyProvider>();
        ExchangeModule.Map(endpoints);
        AdminModule.Map(endpoints);
        RevocationModule.Map(endpoints);
        Broker.Introspection.IntrospectionModule.Map(endpoints);
        Broker.RevocationFeed.RevocationFeedModule.Map(endpoints);
        Broker.StatusList.StatusListModule.Map(endpoints);
        Broker.Catalog.CatalogModule.Map(endpoints);
        Broker.Review.ReviewModule.Map(endpoints);
        KeysModule.Map(endpoints);
        DiscoveryModule.Map(endpoints);
        HealthModule.Map(endpoints);
        Broker.Telemetry.TelemetryModule.Map(endpoints);
        if (endpoints.ServiceProvider.GetRequiredService<IOptions<BrokerOptions>>().Value.DevMode)
        {
            DevModule.Map(endpoints);
        }

        return endpoints;
    }
}
