using Broker.Grants;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Grants;

/// <summary>The grant store contract against a real Redis; each test has a key prefix of its own.</summary>
public abstract class RedisGrantStoreTestBase : GrantStoreContractTests
{
    private readonly List<IConnectionMultiplexer> _connections = [];
    private readonly List<RedisGrantStore> _stores = [];

    protected RedisGrantStoreTestBase(string configuration)
    {
        Configuration = configuration;
    }

    protected string Configuration { get; }

    protected string KeyPrefix { get; } = Redis.RedisServerFixture.NewKeyPrefix();

    protected static GrantsOptions GrantsOptions => new() { Retention = TimeSpan.FromSeconds(30) };

    protected override TimeProvider Time => TimeProvider.System;

    protected override TimeSpan ShortLifetime => TimeSpan.FromSeconds(1);

    protected override Task PassAsync(TimeSpan duration) => Task.Delay(duration, Ct);

    /// <summary>A new connection and a store on it: another broker replica.</summary>
    protected override async ValueTask<IGrantStore> CreateReplicaAsync() => await ConnectStoreAsync(GrantsOptions);

    protected override async ValueTask<IGrantStore> CreateStoreAsync(GrantsOptions options) => await ConnectStoreAsync(options);

    private protected async Task<RedisGrantStore> ConnectStoreAsync(GrantsOptions options)
    {
        var redisOptions = new RedisOptions { Configuration = Configuration, KeyPrefix = KeyPrefix };
        var connection = await ConnectionMultiplexer.ConnectAsync(RedisGrantStore.CreateConfiguration(redisOptions));
        _connections.Add(connection);
        var store = new RedisGrantStore(connection, Options.Create(redisOptions), Options.Create(options), TimeProvider.System, NullLogger<RedisGrantStore>.Instance);
        _stores.Add(store);
        return store;
    }

    protected IDatabase Database => _connections[0].GetDatabase();

    protected override async ValueTask DisposeCoreAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        await base.DisposeCoreAsync();

    }

    [Fact]
    public async Task RecordAsync_SetsTtlToExpiryPlusRetentionOnEveryKey()
    {
        // Arrange
        var grant = NewGrant(lifetime: TimeSpan.FromMinutes(10));
        var tag = GrantId.RoutingTag(Tenant);
        var keys = new RedisGrantKeys(KeyPrefix);

        // Act
        await Store.RecordAsync(grant, Issued(grant), Ct);
        await Store.RevokeAsync(grant.Id, "admin", "ttl", Ct);

        // Assert: record and revocation mark live for lifetime + retention; indexes until the grant expires.
        var recordTtl = await Database.KeyTimeToLiveAsync(keys.Grant(tag, grant.Id));
        var markTtl = await Database.KeyTimeToLiveAsync(keys.Revocation(tag, grant.Id));
        Assert.InRange(recordTtl!.Value, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10.5));
        Assert.InRange(markTtl!.Value, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10.5));
        foreach (var index in new[] { keys.TenantIndex(tag, Tenant), keys.SubjectIndex(tag, Tenant, grant.Subject), keys.TaskIndex(tag, Tenant, grant.TaskId) })
        {
            Assert.InRange((await Database.KeyTimeToLiveAsync(index))!.Value, TimeSpan.FromMinutes(9.5), TimeSpan.FromMinutes(10));
        }

        Assert.NotNull(await Database.KeyTimeToLiveAsync(keys.AuditStream(tag)));
        Assert.NotNull(await Database.KeyTimeToLiveAsync(keys.RevocationStream(tag)));
    }

    [Fact]
    public async Task Expiry_RecordKeyVanishesWhenTtlPasses()
    {
        // Arrange: no retention, so the record goes when the token expires.
        var store = await ConnectStoreAsync(new GrantsOptions { Retention = TimeSpan.Zero });
        var grant = NewGrant(lifetime: TimeSpan.FromSeconds(1));
        await store.RecordAsync(grant, Issued(grant), Ct);

        // Act
        await Task.Delay(TimeSpan.FromSeconds(1.3), Ct);

        // Assert
        Assert.False(await Database.KeyExistsAsync(new RedisGrantKeys(KeyPrefix).Grant(GrantId.RoutingTag(Tenant), grant.Id)));
        Assert.Equal(GrantState.Unknown, await store.GetStateAsync(grant.Id, Ct));
    }

    [Fact]
    public async Task IsReadyAsync_ReachableRedis_IsTrue()
        => Assert.True(await Store.IsReadyAsync(Ct));

    [Fact]
    public async Task ReadRevocationsAsync_MalformedPosition_Throws()
        => await Assert.ThrowsAsync<ArgumentException>(async () => await Store.ReadRevocationsAsync(Tenant, "0-0 + COUNT", 10, Ct));
}
