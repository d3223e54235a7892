using System.Collections.Concurrent;
using System.Diagnostics;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.Testing;
using Broker.Testing.Grants;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>
/// Fail closed: while Redis is down every call ends within the timeout, either confirmed or with
/// <see cref="GrantStoreUnavailableException"/>; nothing confirmed is lost. Runs on a server of its own (an
/// fsync-always append-only file, so a stop and start keeps every acknowledged write) because it stops it.
/// </summary>
public sealed class RedisGrantStoreFailClosedTests : IAsyncLifetime
{
    private const string Password = "s3cr3t-redis-password";

    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(500);

    // Generous: this is "never hangs", not a latency target.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(2);

    private readonly RedisServerFixture _redis = new(durable: true, allowOverride: false);
    private readonly string _tenant = "tenant-" + Guid.NewGuid().ToString("N")[..8];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => _redis.InitializeAsync();

    public ValueTask DisposeAsync() => _redis.DisposeAsync();

    [Fact]
    public async Task RecordAsync_RedisStopsMidRun_EachCallIsDurableOrFailsClosedWithinTheTimeout()
    {
        // Arrange
        var (connection, store) = await ConnectAsync(_redis.Configuration);
        await using var _ = connection;
        await using var subscription = await store.SubscribeRevocationsAsync(Ct);
        ConcurrentBag<Outcome> outcomes = [];
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var grant = TestGrants.New(_tenant, "fail-closed test");
                var watch = Stopwatch.StartNew();
                try
                {
                    await store.RecordAsync(grant, TestGrants.Issued(grant), CancellationToken.None);
                    outcomes.Add(new Outcome(grant.Id, null, watch.Elapsed));
                }
                catch (Exception e)
                {
                    outcomes.Add(new Outcome(grant.Id, e, watch.Elapsed));
                    await Task.Delay(10, CancellationToken.None);
                }
            }
        }, CancellationToken.None)).ToList();
        await Eventually.HoldsAsync(() => outcomes.Count(o => o.Error is null) >= 40, TimeSpan.FromSeconds(20), Ct);

        // Act: Redis goes away under load, stays away for a while, then comes back.
        await _redis.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        var readyWhileDown = await store.IsReadyAsync(Ct);
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        await _redis.StartAsync();

        // Assert: every call either succeeded or failed closed, and none waited past the timeout.
        Assert.Contains(outcomes, o => o.Error is not null);
        Assert.All(outcomes.Where(o => o.Error is not null), o => Assert.IsType<GrantStoreUnavailableException>(o.Error));
        Assert.All(outcomes, o => Assert.True(o.Elapsed < Timeout + Slack, $"A call took {o.Elapsed}."));
        Assert.False(readyWhileDown);

        // Assert: after the restart, every confirmed grant is there (the store reconnects by itself).
        await Eventually.HoldsAsync(async () => await store.IsReadyAsync(Ct), TimeSpan.FromSeconds(20), Ct);
        foreach (var confirmed in outcomes.Where(o => o.Error is null))
        {
            Assert.NotNull(await store.FindAsync(confirmed.GrantId, Ct));
        }

        var after = TestGrants.New(_tenant, "fail-closed test");
        await store.RecordAsync(after, TestGrants.Issued(after), Ct);
        Assert.NotNull(await store.FindAsync(after.Id, Ct));

        // Assert: the revocation feed came back with the connection (the multiplexer resubscribes).
        await store.RevokeAsync(after.Id, "admin", "after the outage", Ct);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        wait.CancelAfter(TimeSpan.FromSeconds(10));
        RevocationEntry announced;
        do
        {
            announced = await subscription.Reader.ReadAsync(wait.Token);
        }
        while (announced.GrantId != after.Id);
    }

    [Fact]
    public async Task EveryOperation_NothingListening_FailsClosedWithinTheTimeout()
    {
        // Arrange: a port nobody listens on, and a password that must never show up in what callers may log.
        var (connection, store) = await ConnectAsync($"127.0.0.1:{FreePorts.Next()},password={Password}");
        await using var _ = connection;
        var grant = TestGrants.New(_tenant, "fail-closed test");
        Func<Task>[] calls =
        [
            async () => await store.RecordAsync(grant, TestGrants.Issued(grant), Ct),
            async () => await store.FindAsync(grant.Id, Ct),
            async () => await store.GetStateAsync(grant.Id, Ct),
            async () => await store.RevokeAsync(grant.Id, "admin", "x", Ct),
            async () => await store.RevokeAllAsync(GrantQuery.ForTenant(_tenant), "admin", "x", Ct),
            async () => await store.ListAsync(GrantQuery.ForTenant(_tenant), null, 10, Ct),
            async () => await store.ReadRevocationsAsync(_tenant, null, 10, Ct),
            async () => await store.ReadAuditAsync(_tenant, 10, Ct),
            async () => await store.AppendAuditAsync(TestGrants.Issued(grant), Ct),
            async () => await store.SubscribeRevocationsAsync(Ct),
        ];

        foreach (var call in calls)
        {
            // Act
            var watch = Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<GrantStoreUnavailableException>(call);

            // Assert
            Assert.True(watch.Elapsed < Timeout + Slack, $"A call took {watch.Elapsed}.");
            Assert.DoesNotContain(Password, error.ToString(), StringComparison.Ordinal);
        }

        Assert.False(await store.IsReadyAsync(Ct));
    }

    private static async Task<(IConnectionMultiplexer Connection, RedisGrantStore Store)> ConnectAsync(string configuration)
    {
        var options = new RedisOptions
        {
            Configuration = configuration,
            KeyPrefix = RedisServerFixture.NewKeyPrefix(),
            OperationTimeout = Timeout,
            ConnectTimeout = TimeSpan.FromSeconds(1),
        };
        var connection = await ConnectionMultiplexer.ConnectAsync(RedisConnectionFactory.CreateConfiguration(options));
        var store = new RedisGrantStore(connection, Options.Create(options), Options.Create(new GrantsOptions()), TimeProvider.System, NullLogger<RedisGrantStore>.Instance);
        return (connection, store);
    }

    private sealed record Outcome(string GrantId, Exception? Error, TimeSpan Elapsed);
}
