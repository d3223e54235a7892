using System.Net;
using Broker.Catalog;
using Broker.Catalog.Redis;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.IntegrationTests.Catalog;

/// <summary>The catalog of a broker backed by a real redis-server: the store follows the grant store, end to end.</summary>
public sealed class CatalogRedisTests(RedisServerFixture redis) : IAsyncLifetime
{
    private readonly CatalogFixture _fixture = new();

    public ValueTask InitializeAsync() => new(_fixture.StartAsync(s =>
    {
        s.Configure<RedisOptions>(o =>
        {
            o.Configuration = redis.Configuration;
            o.KeyPrefix = RedisServerFixture.NewKeyPrefix();
        });
    }));

    public ValueTask DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task PublishExchangeDiscoverUnpublish_OnRedis()
    {
        // Arrange
        Assert.IsType<RedisCatalogStore>(_fixture.Host.Services.GetRequiredService<ICatalogStore>());
        var grants = _fixture.Host.Services.GetRequiredService<IGrantStore>();
        var start = await grants.GetRevocationPositionAsync("acme", TestContext.Current.CancellationToken);

        // Act / Assert: refused, published, issued, listed, unpublished, refused, announced.
        Assert.Equal("invalid_scope", (await _fixture.ExchangeAsync(CatalogFixture.Reader, "invoices.read", CatalogFixture.Invoices)).Error);
        await _fixture.PublishAllAsync(CatalogFixture.Invoices);
        Assert.Equal(HttpStatusCode.OK, (await _fixture.ExchangeAsync(CatalogFixture.Reader, "invoices.read", CatalogFixture.Invoices)).Status);
        var discovered = await _fixture.SendAsync(HttpMethod.Get, "/catalog/v1/capabilities", _fixture.Acme.Svid(CatalogFixture.Reader));
        Assert.True(discovered.Json.GetProperty("capabilities").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "invoices.read").GetProperty("executable").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await _fixture.UnpublishAsync(CatalogFixture.InvoicesServer, CatalogFixture.Invoices)).Status);
        Assert.Equal("invalid_scope", (await _fixture.ExchangeAsync(CatalogFixture.Reader, "invoices.read", CatalogFixture.Invoices)).Error);
        var page = await grants.ReadRevocationsAsync("acme", start, 10, TestContext.Current.CancellationToken);
        Assert.Equal(["invoices.read", "invoices.write"], page.Entries.Select(e => e.Withdrawal!.Capability));
        Assert.Contains(await grants.ReadAuditAsync("acme", 100, TestContext.Current.CancellationToken), e => e.Type == Broker.Audit.AuditEventTypes.CatalogUnpublish && e.Catalog!.Version == 2);
    }
}
