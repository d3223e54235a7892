using System.Globalization;
using System.Net;
using System.Text.Json;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.Testing;
using Broker.Testing.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>
/// Redis must not evict: on redis-servers of their own (their settings are changed), the broker refuses to start on
/// an evicting maxmemory-policy, <c>/readyz</c> fails when the policy turns evicting at run time, and a Redis that
/// will not tell its policy is a warning that <c>Broker:Redis:AssumeNoEviction</c> settles.
/// </summary>
public sealed class RedisEvictionPolicyTests : IAsyncLifetime
{
    private readonly List<RedisProcess> _servers = [];
    private readonly List<ExchangeFixture> _brokers = [];
    private readonly FakeLogCollector _logs = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }

        foreach (var server in _servers)
        {
            await server.DisposeAsync();
            RedisServerFixture.TryDelete(server.Directory);
        }
    }

    [Theory]
    [InlineData("allkeys-lru")]
    [InlineData("volatile-ttl")]
    public async Task Start_RedisWithAnEvictingPolicy_RefusesToStartAndLogsAnError(string policy)
    {
        // Arrange: volatile-* policies count too: every key of the grant store has a TTL.
        var redis = await StartRedisAsync("--maxmemory-policy", policy);

        // Act
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(async () => await StartBrokerAsync(redis));

        // Assert
        Assert.Contains(policy, failure.Message, StringComparison.Ordinal);
        var error = Assert.Single(_logs.GetSnapshot(), r => r.Id.Name == "RedisEvictionPolicyEvicting");
        Assert.Equal(LogLevel.Error, error.Level);
        Assert.Contains(redis.EndPoint, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_PolicyTurnsEvictingWhileRunning_FailsTheCheckUntilItIsNoEvictionAgain()
    {
        // Arrange
        var redis = await StartRedisAsync();
        var broker = await StartBrokerAsync(redis);
        var (ready, checks, _) = await ReadyzAsync(broker);
        Assert.Equal((HttpStatusCode.OK, "noeviction"), (ready, checks["redis_eviction_policy"]));

        // Act + Assert: an operator switches the policy.
        await RedisProcess.CliAsync("-p", Port(redis), "CONFIG", "SET", "maxmemory-policy", "allkeys-lfu");
        var (evicting, evictingChecks, _) = await ReadyzAsync(broker);
        await ReadyzAsync(broker);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, evicting);
        Assert.Equal($"allkeys-lfu on {redis.EndPoint}", evictingChecks["redis_eviction_policy"]);
        Assert.Equal("ok", evictingChecks["grant_store"]);
        Assert.Single(_logs.GetSnapshot(), r => r.Id.Name == "RedisEvictionPolicyEvicting");

        await RedisProcess.CliAsync("-p", Port(redis), "CONFIG", "SET", "maxmemory-policy", "noeviction");
        Assert.Equal(HttpStatusCode.OK, (await ReadyzAsync(broker)).Status);
    }

    [Fact]
    public async Task StartAndReadyz_PolicyNotDisclosed_StartsWithAWarningAndReportsUnknown()
    {
        // Arrange: as managed services do, CONFIG and INFO are not available to clients.
        var redis = await StartRedisAsync("--rename-command", "CONFIG", "", "--rename-command", "INFO", "");

        // Act
        var broker = await StartBrokerAsync(redis);
        var (status, checks, warnings) = await ReadyzAsync(broker);

        // Assert: not a reason to refuse service, but said at start and in every readiness report.
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ok", checks["grant_store"]);
        Assert.Equal("unknown", checks["redis_eviction_policy"]);
        Assert.Contains(warnings, w => w.Contains("Broker:Redis:AssumeNoEviction=true", StringComparison.Ordinal));
        var warning = Assert.Single(_logs.GetSnapshot(), r => r.Id.Name == "RedisEvictionPolicyUnknown");
        Assert.Equal(LogLevel.Warning, warning.Level);
    }

    [Fact]
    public async Task Readyz_PolicyNotDisclosedButDeclared_ReportsAssumedNoEvictionWithoutWarnings()
    {
        var redis = await StartRedisAsync("--rename-command", "CONFIG", "", "--rename-command", "INFO", "");

        var broker = await StartBrokerAsync(redis, s => s.Configure<RedisOptions>(o => o.AssumeNoEviction = true));
        var (status, checks, warnings) = await ReadyzAsync(broker);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("assumed noeviction", checks["redis_eviction_policy"]);
        Assert.Empty(warnings);
        Assert.DoesNotContain(_logs.GetSnapshot(), r => r.Id.Name is "RedisEvictionPolicyUnknown" or "RedisEvictionPolicyEvicting");
    }

    [Fact]
    public async Task Readyz_DeclaredNoEvictionButTheReadablePolicyEvicts_StillFails()
    {
        var redis = await StartRedisAsync();
        var broker = await StartBrokerAsync(redis, s => s.Configure<RedisOptions>(o => o.AssumeNoEviction = true));

        await RedisProcess.CliAsync("-p", Port(redis), "CONFIG", "SET", "maxmemory-policy", "volatile-lru");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await ReadyzAsync(broker)).Status);
    }

    [Fact]
    public async Task Readyz_InMemoryStore_SaysNotApplicable()
    {
        var broker = new ExchangeFixture();
        _brokers.Add(broker);
        await broker.InitializeAsync();

        var (status, checks, _) = await ReadyzAsync(broker);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("not applicable", checks["redis_eviction_policy"]);
    }

    [Fact]
    public async Task CheckAsync_Cluster_ReadsEveryPrimary()
    {
        // Arrange: a cluster of its own, one of whose three primaries is switched to an evicting policy.
        await using var cluster = new RedisClusterFixture(durable: false, allowOverride: false);
        await cluster.InitializeAsync();
        var options = Options.Create(new RedisOptions { Configuration = cluster.Configuration });
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisConnectionFactory.CreateConfiguration(options.Value));
        var check = new RedisEvictionPolicyCheck(connection, options, NullLogger<RedisEvictionPolicyCheck>.Instance);
        var before = await check.CheckAsync(TestContext.Current.CancellationToken);
        var third = cluster.EndPoints[2];

        // Act
        await RedisProcess.CliAsync("-p", third[(third.LastIndexOf(':') + 1)..], "CONFIG", "SET", "maxmemory-policy", "allkeys-random");
        var after = await check.CheckAsync(TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(EvictionPolicyState.NoEviction, before.State);
        Assert.Equal(EvictionPolicyState.Evicting, after.State);
        Assert.Equal($"allkeys-random on {third}", after.Detail);
    }

    private async Task<RedisProcess> StartRedisAsync(params string[] arguments)
    {
        var redis = new RedisProcess(Directory.CreateTempSubdirectory("broker-redis-eviction-").FullName, FreePorts.Next(), ["--appendonly", "no", .. arguments]);
        _servers.Add(redis);
        await redis.StartAsync();
        return redis;
    }

    private async Task<ExchangeFixture> StartBrokerAsync(RedisProcess redis, Action<Dictionary<string, string?>>? configure = null)
    {
        var broker = new ExchangeFixture
        {
            Configure = s =>
            {
                s.Configure<RedisOptions>(o =>
                {
                    o.Configuration = redis.EndPoint;
                    o.KeyPrefix = RedisServerFixture.NewKeyPrefix();
                });
                configure?.Invoke(s);
            },
            Services = s => s.AddSingleton<ILoggerProvider>(new FakeLoggerProvider(_logs)),
        };
        _brokers.Add(broker);
        await broker.InitializeAsync();
        return broker;
    }

    private static string Port(RedisProcess redis) => redis.Port.ToString(CultureInfo.InvariantCulture);

    private static async Task<(HttpStatusCode Status, Dictionary<string, string> Checks, List<string> Warnings)> ReadyzAsync(ExchangeFixture broker)
    {
        using var response = await broker.Host.Client.GetAsync("/readyz");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var checks = body.RootElement.GetProperty("checks").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        var warnings = body.RootElement.TryGetProperty("warnings", out var list) ? list.EnumerateArray().Select(w => w.GetString()!).ToList() : [];
        return (response.StatusCode, checks, warnings);
    }
}
