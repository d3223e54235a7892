namespace Broker.Validation.Tests.Infrastructure;

/// <summary>One real broker for every test class in the <see cref="BrokerTests"/>.</summary>
public sealed class BrokerFixture : IAsyncLifetime
{
    public TestBroker Broker { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Broker = await TestBroker.StartAsync();

    public async ValueTask DisposeAsync() => await Broker.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class BrokerTests : ICollectionFixture<BrokerFixture>
{
    public const string Name = "broker";
}
