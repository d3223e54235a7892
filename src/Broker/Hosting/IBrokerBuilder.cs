namespace Broker.Hosting;

/// <summary>Returned by <c>AddBroker()</c> so features can be configured further.</summary>
internal interface IBrokerBuilder
{
    IServiceCollection Services { get; }

    IConfiguration Configuration { get; }
}

internal sealed record BrokerBuilder(IServiceCollection Services, IConfiguration Configuration) : IBrokerBuilder;
