using System.Collections.Concurrent;
using System.Diagnostics;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.Testing.Grants;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>
/// Fail closed on a cluster: when one primary goes away, the tenants whose slots it serves fail closed within the
/// timeout while the other tenants carry on, and nothing confirmed is lost once it is back. Runs on a cluster of
/// its own (fsync-always append-only files) because it stops a node.
/// </summary>
public sealed class RedisClusterFailClosedTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(500);

    // Generous: this is "never hangs", not a latency target.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(2);

    private readonly RedisClusterFixture _cluster = new(durable: true, allowOverride: false);
    private readonly string _tenantPrefix = "tenant-" + Guid.NewGuid().ToString("N")[..8];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => _cluster.InitializeAsync();

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task RecordAsync_OnePrimaryStops_ItsTenantsFailClosedOthersCarryOnNothingConfirmedIsLost()
    {
        // Arrange: tenants on every node; find which ones the first node serves.
        var options = new RedisOptions { Configuration = _cluster.Configuration, KeyPrefix = RedisServerFixture.NewKeyPrefix(), OperationTimeout = Timeout, ConnectTimeout = TimeSpan.FromSeconds(1) };
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisConnectionFactory.CreateConfiguration(options));
        await using var store = new RedisGrantStore(connection, Options.Create(options), Options.Create(new GrantsOptions()), TimeProvider.System, NullLogger<RedisGrantStore>.Instance);
        var slots = connection.GetServer(connection.GetEndPoints()[0]).ClusterConfiguration!;
        var stopped = _cluster.EndPoints[0];
        var tenants = Enumerable.Range(0, 24).Select(i => $"{_tenantPrefix}-{i}").ToList();
        var onStopped = tenants.Where(t => slots.GetBySlot(connection.HashSlot($"{{{GrantId.RoutingTag(t)}}}"))!.EndPoint!.ToString() == stopped).ToHashSet();
        Assert.NotEmpty(onStopped);
        Assert.NotEqual(tenants.Count, onStopped.Count);

        ConcurrentBag<Outcome> outcomes = [];
        var down = 0;
        using var stop = new CancellationTokenSource();
        var workers = tenants.Select(tenant => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var grant = TestGrants.New(tenant, "fail-closed test");
                var duringOutage = Volatile.Read(ref down) == 1;
                var watch = Stopwatch.StartNew();
                try
                {
                    await store.RecordAsync(grant, TestGrants.Issued(grant), CancellationToken.None);
                    outcomes.Add(new Outcome(grant.Id, tenant, duringOutage, null, watch.Elapsed));
                }
                catch (Exception e)
                {
                    outcomes.Add(new Outcome(grant.Id, tenant, duringOutage, e, watch.Elapsed));
                }

                await Task.Delay(20, CancellationToken.None);
            }
        }, CancellationToken.None)).ToList();
        await Eventually.HoldsAsync(() => Task.FromResult(outcomes.Count(o => o.Error is null) >= 100), TimeSpan.FromSeconds(30), Ct);

        // Act: the first node goes away for a while (shorter than the cluster node timeout, so no failover).
        await _cluster.StopNodeAsync(0);
        Volatile.Write(ref down, 1);
        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        await _cluster.StartNodeAsync(0);

        // Assert: every call succeeded or failed closed in time; during the outage the other tenants carried on.
        Assert.All(outcomes.Where(o => o.Error is not null), o => Assert.IsType<GrantStoreUnavailableException>(o.Error));
        Assert.All(outcomes, o => Assert.True(o.Elapsed < Timeout + Slack, $"A call took {o.Elapsed}."));
        Assert.Contains(outcomes, o => o.DuringOutage && o.Error is not null && onStopped.Contains(o.Tenant));
        Assert.Contains(outcomes, o => o.DuringOutage && o.Error is null && !onStopped.Contains(o.Tenant));
        Assert.DoesNotContain(outcomes, o => o.Error is not null && !onStopped.Contains(o.Tenant));

        // Assert: once the node is back, every confirmed grant is there.
        await Eventually.HoldsAsync(async () => await store.IsReadyAsync(Ct), TimeSpan.FromSeconds(30), Ct);
        foreach (var confirmed in outcomes.Where(o => o.Error is null))
        {
            Assert.NotNull(await store.FindAsync(confirmed.GrantId, Ct));
        }
    }

    private sealed record Outcome(string GrantId, string Tenant, bool DuringOutage, Exception? Error, TimeSpan Elapsed);
}
