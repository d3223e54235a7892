using Broker.Catalog;
using Broker.Catalog.InMemory;
using Broker.Catalog.Redis;
using Broker.Grants;
using Broker.Grants.InMemory;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Redis;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Catalog;

/// <summary>The catalog store contract against the embedded store, on a fake clock.</summary>
public sealed class InMemoryCatalogStoreTests : CatalogStoreContractTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero));
    private InMemoryGrantStore? _grants;
    private InMemoryCatalogStore? _store;

    private protected override ICatalogStore Store => _store!;

    private protected override IGrantStore Grants => _grants!;

    protected override TimeProvider Time => _time;

    public override ValueTask InitializeAsync()
    {
        _grants = new InMemoryGrantStore(_time, Options.Create(new GrantsOptions()));
        _store = new InMemoryCatalogStore(_grants);
        return ValueTask.CompletedTask;
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>The catalog store contract against a real Redis, with a key prefix of its own.</summary>
public sealed class RedisCatalogStoreTests(RedisServerFixture redis) : CatalogStoreContractTests
{
    private ConnectionMultiplexer? _connection;
    private RedisGrantStore? _grants;
    private RedisCatalogStore? _store;

    private protected override ICatalogStore Store => _store!;

    private protected override IGrantStore Grants => _grants!;

    protected override TimeProvider Time => TimeProvider.System;

    public override async ValueTask InitializeAsync()
    {
        var options = Options.Create(new RedisOptions { Configuration = redis.Configuration, KeyPrefix = RedisServerFixture.NewKeyPrefix() });
        _connection = await ConnectionMultiplexer.ConnectAsync(RedisConnectionFactory.CreateConfiguration(options.Value));
        var grantsOptions = Options.Create(new GrantsOptions());
        _grants = new RedisGrantStore(_connection, options, grantsOptions, Options.Create(new StatusListOptions()), TimeProvider.System, NullLogger<RedisGrantStore>.Instance);
        _store = new RedisCatalogStore(_connection, options, grantsOptions, TimeProvider.System, NullLogger<RedisCatalogStore>.Instance);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_grants is not null)
        {
            await _grants.DisposeAsync();
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task Keys_CarryTheTenantsRoutingTag_SoAWriteIsOneSlot()
    {
        // The entry, the index and the tenant's streams hash to one Redis Cluster slot.
        var tag = GrantId.RoutingTag(Tenant);
        Assert.Contains("{" + tag + "}", _store!.EntryKey(Tenant, Resource).ToString(), StringComparison.Ordinal);
        Assert.Contains("{" + tag + "}", _store.IndexKey(Tenant).ToString(), StringComparison.Ordinal);
        await Store.PublishAsync(NewPublication(1, Tool("list_invoices", "invoices.read")), 0, [], Audit(1), Ct);
        Assert.Equal(RedisType.Hash, await _connection!.GetDatabase().KeyTypeAsync(_store.EntryKey(Tenant, Resource)));
        Assert.Equal(-1, (await _connection.GetDatabase().KeyTimeToLiveAsync(_store.EntryKey(Tenant, Resource)))?.TotalSeconds ?? -1);
    }
}
