using System.Net;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.Testing;
using Broker.Testing.Redis;

namespace Broker.IntegrationTests.Telemetry;

/// <summary>The grant-store instruments on Redis, with a redis-server of the test's own that it stops.</summary>
public sealed class RedisTelemetryTests : IAsyncLifetime
{
    private readonly ExchangeFixture _broker = new();
    private RedisProcess _redis = null!;

    public async ValueTask InitializeAsync()
    {
        _redis = new RedisProcess(Directory.CreateTempSubdirectory("broker-redis-telemetry-").FullName, FreePorts.Next(), ["--appendonly", "no"]);
        await _redis.StartAsync();
        _broker.Configure = s =>
        {
            s.Configure<RedisOptions>(o =>
            {
                o.Configuration = _redis.EndPoint;
                o.KeyPrefix = RedisServerFixture.NewKeyPrefix();
                o.OperationTimeout = TimeSpan.FromSeconds(1);
            });
        };
        await _broker.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _redis.DisposeAsync();
        RedisServerFixture.TryDelete(_redis.Directory);
    }

    [Fact]
    public async Task Exchange_OnRedis_MeasuresTheRecord_AndCountsTheStoreErrorWhenRedisIsDown()
    {
        // Arrange
        using var metrics = new MetricCapture(_broker.Host.Services);

        // Act: one exchange with Redis up, one after it stopped.
        var issued = await _broker.ExchangeAsync(ExchangeFixture.Request(_broker.Acme.Svid("/agents/reader")));
        await _redis.StopAsync();
        var refused = await _broker.ExchangeAsync(ExchangeFixture.Request(_broker.Acme.Svid("/agents/reader")));

        // Assert: the store's outage is the caller's 503 (fail closed), an error of the record operation, and a
        // refusal with its reason.
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable), (issued.Status, refused.Status));
        var records = metrics.Of("broker.grant_store.operation.duration").Where(m => m.Tags["db.operation.name"] == "record").ToList();
        Assert.Equal(2, records.Count);
        Assert.All(records, r => Assert.Equal("redis", r.Tags["db.system.name"]));
        Assert.False(records[0].Tags.ContainsKey("error.type"));
        Assert.Contains(records[1].Tags["error.type"], new[] { "unavailable", "timeout" });
        var error = Assert.Single(metrics.Of("broker.grant_store.errors"), e => e.Tags["db.operation.name"] == "record");
        Assert.Equal(records[1].Tags["error.type"], error.Tags["error.type"]);
        Assert.Equal(1, metrics.Sum("broker.exchange.requests", ("broker.exchange.outcome", "refused"), ("broker.exchange.reason", Broker.Errors.ErrorCatalog.StoreUnavailable.Reason)));
    }
}
