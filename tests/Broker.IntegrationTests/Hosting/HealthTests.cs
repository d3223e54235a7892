using System.Globalization;
using System.Net;
using System.Text.Json;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.Keys;
using Broker.Testing;
using Broker.Testing.Redis;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Hosting;

/// <summary>
/// <c>/healthz</c> and <c>/readyz</c> over real HTTP, with a redis-server of the test's own: every readiness check
/// fails on its own cause (the others stay as they were), and liveness fails on none of them.
/// </summary>
public sealed class HealthTests : IAsyncLifetime
{
    private static readonly string[] ReadinessChecks =
        ["policy", "policy_reload", "bundles", "workload_api", "grant_store", "redis_eviction_policy", "keys", "revocation_feed"];

    private readonly ExchangeFixture _broker = new();
    private RedisProcess? _redis;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _broker.DisposeAsync();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
            RedisServerFixture.TryDelete(_redis.Directory);
        }
    }

    [Fact]
    public async Task Readyz_EverythingWell_ListsEveryCheck_AndHealthzAnswersOk()
    {
        // Arrange
        await StartAsync(redis: true);

        // Act
        var ready = await ReadyzAsync();
        var live = await GetAsync("/healthz");

        // Assert
        Assert.Equal((HttpStatusCode.OK, "ready"), (ready.Status, ready.Text));
        Assert.Equal(ReadinessChecks, ready.Checks.Keys);
        Assert.StartsWith("sha256:", ready.Checks["policy"], StringComparison.Ordinal);
        Assert.Equal(
            ["ok", "ok", "not configured", "ok", "noeviction", "ok", "ok"],
            ReadinessChecks.Skip(1).Select(c => ready.Checks[c]));
        Assert.Empty(ready.Warnings);
        Assert.Equal((HttpStatusCode.OK, "ok"), (live.Status, live.Text));
        Assert.Empty(live.Checks);
        Assert.Equal("no-store, no-cache", live.CacheControl);
    }

    [Fact]
    public async Task Readyz_InMemoryStore_SaysSoForRedisAndTheFeedSource()
    {
        await StartAsync(redis: false);

        var ready = await ReadyzAsync();

        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal(("not applicable", "in process"), (ready.Checks["redis_eviction_policy"], ready.Checks["revocation_feed"]));
    }

    [Fact]
    public async Task Readyz_RedisTurnsEvicting_OnlyTheEvictionCheckFails_LivenessStaysOk()
    {
        // Arrange
        await StartAsync(redis: true);
        var before = await ReadyzAsync();

        // Act: an operator (or a managed service's default) switches Redis to a policy that may evict grants.
        await RedisProcess.CliAsync("-p", Port, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
        var evicting = await ReadyzAsync();
        var live = await GetAsync("/healthz");

        // Assert
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "not ready"), (evicting.Status, evicting.Text));
        Assert.Equal($"allkeys-lru on {_redis!.EndPoint}", evicting.Checks["redis_eviction_policy"]);
        AssertOthersUnchanged(before, evicting, "redis_eviction_policy");
        Assert.Equal(HttpStatusCode.OK, live.Status);
    }

    [Fact]
    public async Task Readyz_RedisStopped_TheGrantStoreFails_LivenessStaysOk_AndReadyAgainWhenRedisIsBack()
    {
        // Arrange
        await StartAsync(redis: true);

        // Act
        await _redis!.StopAsync();
        var down = await ReadyzAsync();
        var live = await GetAsync("/healthz");
        await _redis.StartAsync();
        var back = await EventuallyAsync(r => r.Status == HttpStatusCode.OK);

        // Assert: the feed's source (Redis pub/sub) is gone with it; policy, keys and bundles are not Redis's.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Status);
        Assert.Equal("unavailable", down.Checks["grant_store"]);
        Assert.Equal("revocation channel disconnected", down.Checks["revocation_feed"]);
        Assert.Equal(("ok", "ok"), (down.Checks["keys"], down.Checks["bundles"]));
        Assert.Equal(HttpStatusCode.OK, live.Status);
        Assert.Equal("ok", back.Checks["grant_store"]);
    }

    [Fact]
    public async Task Readyz_RevocationChannelLost_WhileRedisAnswers_OnlyTheFeedSourceFails()
    {
        // Arrange: Redis at its connection limit once the broker's pub/sub connection is dropped, so it cannot come
        // back while the broker's command connection stays up.
        await StartAsync(redis: true);
        var before = await ReadyzAsync();
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{_redis!.EndPoint},allowAdmin=true");
        var server = admin.GetServer(_redis.EndPoint);

        // Act
        var clients = (await server.ClientListAsync()).Length;
        var subscribers = (await server.ClientListAsync()).Count(c => c.ClientType == ClientType.PubSub);
        await server.ConfigSetAsync("maxclients", (clients - subscribers).ToString(CultureInfo.InvariantCulture));
        await server.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
        var lost = await EventuallyAsync(r => r.Checks["revocation_feed"] != "ok");
        await server.ConfigSetAsync("maxclients", "10000");
        var back = await EventuallyAsync(r => r.Status == HttpStatusCode.OK);

        // Assert
        Assert.True(subscribers > 0);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "revocation channel disconnected"), (lost.Status, lost.Checks["revocation_feed"]));
        AssertOthersUnchanged(before, lost, "revocation_feed");
        Assert.Equal("ok", back.Checks["revocation_feed"]);
    }

    [Fact]
    public async Task Readyz_NoActiveSigningKey_OnlyTheKeysCheckFails()
    {
        // Arrange: a ring that has no active key (as a ring shared through Redis has before its first key exists);
        // today's ring, loaded once from files, cannot be in that state, so it stands in for one.
        await StartAsync(redis: false, services: s => s.AddSingleton<ISigningKeyProvider>(new RingWithoutActiveKey()));

        // Act
        var ready = await ReadyzAsync();

        // Assert
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "no active key"), (ready.Status, ready.Checks["keys"]));
        Assert.All(ReadinessChecks.Except(["keys", "policy"]), c => Assert.NotEqual("no active key", ready.Checks[c]));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/healthz")).Status);
    }

    [Fact]
    public async Task Readyz_ActiveKeyNotPublished_TheKeysCheckFails()
    {
        var key = SigningKey.Generate();
        await StartAsync(redis: false, services: s => s.AddSingleton<ISigningKeyProvider>(new RingWithoutActiveKey(key)));

        var ready = await ReadyzAsync();

        Assert.Equal((HttpStatusCode.ServiceUnavailable, "active key not published"), (ready.Status, ready.Checks["keys"]));
    }

    [Fact]
    public async Task Readyz_ChecksRun_WithoutAnyExceptionTextOrSecretInTheBody()
    {
        // A Redis configuration with a password (this server has none, so every login fails too): readiness never
        // echoes it, whatever fails.
        _redis = new RedisProcess(Directory.CreateTempSubdirectory("broker-health-").FullName, FreePorts.Next(), ["--appendonly", "no"]);
        await _redis.StartAsync();
        _broker.Configure = s =>
        {
            s.Configure<RedisOptions>(o =>
            {
                o.Configuration = $"{_redis.EndPoint},password=s3cret-health-pass";
                o.KeyPrefix = RedisServerFixture.NewKeyPrefix();
            });
        };
        await _broker.InitializeAsync();
        await _redis.StopAsync();

        using var response = await _broker.Host.Client.GetAsync("/readyz");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.DoesNotContain("s3cret", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
    }

    private string Port => _redis!.Port.ToString(CultureInfo.InvariantCulture);

    private async Task StartAsync(bool redis, Action<IServiceCollection>? services = null)
    {
        if (redis)
        {
            _redis = new RedisProcess(Directory.CreateTempSubdirectory("broker-health-").FullName, FreePorts.Next(), ["--appendonly", "no"]);
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
        }

        _broker.Services = services;
        await _broker.InitializeAsync();
    }

    private static void AssertOthersUnchanged(Report before, Report after, string failed)
    {
        foreach (var check in ReadinessChecks.Where(c => c != failed))
        {
            Assert.Equal((check, before.Checks[check]), (check, after.Checks[check]));
        }
    }

    /// <summary>Reads <c>/readyz</c> until <paramref name="condition"/> holds (a reconnection takes a moment), at most 20 s.</summary>
    private async Task<Report> EventuallyAsync(Func<Report, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var report = await ReadyzAsync();
            if (condition(report) || DateTime.UtcNow > deadline)
            {
                return report;
            }

            await Task.Delay(50);
        }
    }

    private Task<Report> ReadyzAsync() => GetAsync("/readyz");

    private async Task<Report> GetAsync(string path)
    {
        using var response = await _broker.Host.Client.GetAsync(path);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var checks = body.RootElement.GetProperty("checks").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        var warnings = body.RootElement.TryGetProperty("warnings", out var list) ? list.EnumerateArray().Select(w => w.GetString()!).ToList() : [];
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return new Report(response.StatusCode, body.RootElement.GetProperty("status").GetString()!, checks, warnings, response.Headers.CacheControl?.ToString());
    }

    private sealed record Report(HttpStatusCode Status, string Text, Dictionary<string, string> Checks, List<string> Warnings, string? CacheControl);

    /// <summary>A ring with no active key (<see cref="Active"/> throws), or one whose active key it does not publish.</summary>
    private sealed class RingWithoutActiveKey(SigningKey? unpublished = null) : ISigningKeyProvider
    {
        public SigningKey Active => unpublished ?? throw new InvalidOperationException("The key ring has no active key.");

        public IReadOnlyList<SigningKey> Published => [];

        public SigningKey? Find(string keyId) => null;
    }
}
