using System.Diagnostics.Metrics;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>
/// Group commit (<see cref="RedisGroupCommit"/>) on every topology: grants that queue while a record call is in flight
/// go together in the next one, and each caller still gets its own outcome. To make the batch certain rather than
/// likely, the tests hold the record call in flight with <c>CLIENT PAUSE … WRITE</c> on the tag's primary while they
/// submit the rest (a submitted call is queued once <c>RecordAsync</c> has returned its task), then release it.
/// </summary>
public abstract partial class RedisGrantStoreTestBase
{
    private const string BatchSize = "broker.grant_store.record.batch_size";

    [Fact]
    public async Task GroupCommit_GrantsWithDifferentOutcomesInOneBatch_EachCallerGetsItsOwn()
    {
        // Arrange: a store whose batches are measured; a parent that is active, one that is revoked, a grant already
        // recorded, and a task with a limit of two grants.
        using var metrics = NewMetrics(out var telemetry);
        var store = await ConnectStoreAsync(GrantsOptions, telemetry: telemetry);
        var active = NewGrant();
        var revoked = NewGrant();
        var recorded = NewGrant();
        foreach (var grant in new[] { active, revoked, recorded })
        {
            Assert.Equal(RecordGrantResult.Recorded, await store.RecordAsync(grant, Issued(grant), Ct));
        }

        Assert.IsType<Revoked>(await store.RevokeAsync(revoked.Id, "admin", "batch", Ct));
        var limitedTask = "task-" + Guid.NewGuid().ToString("N");
        var limited = Enumerable.Range(0, 4)
            .Select(_ => NewGrant(taskId: limitedTask) with { TaskLimits = new TaskLimitCheck { MaxGrants = 2 } }).ToList();
        var plain = Enumerable.Range(0, 6).Select(_ => NewGrant()).ToList();
        var childOfActive = NewGrant(parent: active.Id);
        var childOfRevoked = NewGrant(parent: revoked.Id);

        // Act: the first grant in flight and held; the others queue behind it, then all go.
        Task<RecordGrantResult>[] calls;
        Task<RecordGrantResult> duplicate;
        await using (await PauseWritesAsync())
        {
            calls = [.. plain.Concat(limited).Append(childOfActive).Append(childOfRevoked).Select(g => store.RecordAsync(g, Issued(g), Ct).AsTask())];
            duplicate = store.RecordAsync(recorded, Issued(recorded), Ct).AsTask();
        }

        var results = await Task.WhenAll(calls);

        // Assert: each its own outcome: the plain ones and the active parent's child recorded, the first two of the
        // limited task recorded (in the order they were submitted), the others and the revoked parent's child refused
        // and absent, the duplicate a bug report of its own that affected no one else.
        Assert.All(results[..6], r => Assert.Equal(RecordGrantResult.Recorded, r));
        Assert.Equal([RecordGrantResult.Recorded, RecordGrantResult.Recorded, RecordGrantResult.TaskGrantLimit, RecordGrantResult.TaskGrantLimit], results[6..10]);
        Assert.Equal(RecordGrantResult.Recorded, results[10]);
        Assert.Equal(RecordGrantResult.ParentNotActive, results[11]);
        await Assert.ThrowsAsync<InvalidOperationException>(() => duplicate);
        foreach (var grant in plain.Concat(limited.Take(2)).Append(childOfActive))
        {
            AssertSameGrant(grant, await store.FindAsync(grant.Id, Ct));
        }

        foreach (var grant in limited.Skip(2).Append(childOfRevoked))
        {
            Assert.Null(await store.FindAsync(grant.Id, Ct));
        }

        Assert.Contains(childOfActive.Id, (await store.ListAsync(GrantQuery.ForTask(Tenant, childOfActive.TaskId), null, 100, Ct)).Grants.Select(g => g.Id));

        // Assert: they did go together (13 calls, fewer script calls), and each grant was counted once.
        var sizes = metrics.Of(BatchSize).Select(m => m.Value).ToList();
        Assert.Contains(sizes, size => size > 1);
        Assert.Equal(3 + 13, sizes.Sum());
    }

    [Fact]
    public async Task GroupCommit_BatchFails_EveryGrantInItFailsClosed()
    {
        // Arrange: the last grant's subject index is not a sorted set, so the script fails at that grant, after it
        // wrote the grants before it in the batch.
        using var metrics = NewMetrics(out var telemetry);
        var store = await ConnectStoreAsync(GrantsOptions, telemetry: telemetry);
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(Tenant);
        var first = NewGrant();
        var batch = Enumerable.Range(0, 4).Select(i => NewGrant(subject: $"spiffe://acme.example/ns/agents/sa/batch-{i}")).ToList();
        await Database.StringSetAsync(keys.SubjectIndex(tag, Tenant, batch[^1].Subject), "not a sorted set");

        // Act
        Task<RecordGrantResult> firstCall;
        Task<RecordGrantResult>[] calls;
        await using (await PauseWritesAsync())
        {
            firstCall = store.RecordAsync(first, Issued(first), Ct).AsTask();
            calls = [.. batch.Select(g => store.RecordAsync(g, Issued(g), Ct).AsTask())];
        }

        // Assert: the grant sent alone is recorded; every caller of the failed batch is told the store is unavailable
        // (no token), including those whose grants Redis had written before the failure.
        Assert.Equal(RecordGrantResult.Recorded, await firstCall);
        foreach (var call in calls)
        {
            await Assert.ThrowsAsync<GrantStoreUnavailableException>(() => call);
        }

        Assert.Equal([1, 4], metrics.Of(BatchSize).Select(m => m.Value));
        Assert.NotNull(await store.FindAsync(first.Id, Ct));
    }

    [Fact]
    public async Task GroupCommit_OneCallerCancelledWhileQueued_IsLeftOut_AndTheOthersAreRecordedOnce()
    {
        // Arrange
        using var metrics = NewMetrics(out var telemetry);
        var store = await ConnectStoreAsync(GrantsOptions, telemetry: telemetry);
        var grants = Enumerable.Range(0, 6).Select(_ => NewGrant(taskId: "task-" + Guid.NewGuid().ToString("N"))).ToList();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        // Act: the first in flight, the others queued; the fourth's caller goes away before its batch is sent.
        Task<RecordGrantResult>[] calls;
        await using (await PauseWritesAsync())
        {
            calls = [.. grants.Select((g, i) => store.RecordAsync(g, Issued(g), i == 3 ? cancel.Token : Ct).AsTask())];
            await cancel.CancelAsync();
        }

        // Assert: the cancelled caller learns it was cancelled and its grant is not written; the others are recorded,
        // each once, with one issuance event each.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => calls[3]);
        var others = grants.Where((_, i) => i != 3).ToList();
        Assert.All(await Task.WhenAll(calls.Where((_, i) => i != 3)), r => Assert.Equal(RecordGrantResult.Recorded, r));
        Assert.Null(await store.FindAsync(grants[3].Id, Ct));
        var listed = (await store.ListAsync(GrantQuery.ForTenant(Tenant), null, 100, Ct)).Grants.Select(g => g.Id).ToList();
        Assert.Equal(others.Select(g => g.Id).Order(), listed.Order());
        var audited = (await store.ReadAuditAsync(Tenant, 100, Ct)).Select(e => e.GrantId).ToList();
        Assert.Equal(others.Select(g => g.Id).Order(), audited.Order());
        Assert.Equal([1, 4], metrics.Of(BatchSize).Select(m => m.Value));
    }

    [Fact]
    public async Task GroupCommit_MaxRecordBatch_BoundsEveryCall()
    {
        // Arrange
        using var metrics = NewMetrics(out var telemetry);
        var store = await ConnectStoreAsync(GrantsOptions, maxRecordBatch: 3, telemetry: telemetry);
        var grants = Enumerable.Range(0, 11).Select(_ => NewGrant()).ToList();

        // Act
        Task<RecordGrantResult>[] calls;
        await using (await PauseWritesAsync())
        {
            calls = [.. grants.Select(g => store.RecordAsync(g, Issued(g), Ct).AsTask())];
        }

        // Assert: 1 sent alone, then the 10 that queued, 3 at a time, all recorded.
        Assert.All(await Task.WhenAll(calls), r => Assert.Equal(RecordGrantResult.Recorded, r));
        Assert.Equal([1, 3, 3, 3, 1], metrics.Of(BatchSize).Select(m => m.Value));
        Assert.Equal(11, (await store.ListAsync(GrantQuery.ForTenant(Tenant), null, 100, Ct)).Grants.Count);
    }

    [Fact]
    public async Task GroupCommit_TwoCallsInFlight_TheSecondGrantGoesAtOnce_AndTheRestGoTogetherAfterEither()
    {
        // Arrange
        using var metrics = NewMetrics(out var telemetry);
        var store = await ConnectStoreAsync(GrantsOptions, telemetry: telemetry, recordCallsInFlight: 2);
        var limitedTask = "task-" + Guid.NewGuid().ToString("N");
        var grants = Enumerable.Range(0, 8)
            .Select(_ => NewGrant(taskId: limitedTask) with { TaskLimits = new TaskLimitCheck { MaxGrants = 5 } }).ToList();

        // Act: the first two calls in flight and held, the other six queued behind them.
        Task<RecordGrantResult>[] calls;
        await using (await PauseWritesAsync())
        {
            calls = [.. grants.Select(g => store.RecordAsync(g, Issued(g), Ct).AsTask())];
        }

        var results = await Task.WhenAll(calls);

        // Assert: two calls of one grant, then one of the six (whichever call came back first sent them); the task
        // limit still holds across calls in flight: five recorded, three refused, and only the five are listed.
        Assert.Equal([1, 1, 6], metrics.Of(BatchSize).Select(m => m.Value));
        Assert.Equal(5, results.Count(r => r == RecordGrantResult.Recorded));
        Assert.Equal(3, results.Count(r => r == RecordGrantResult.TaskGrantLimit));
        var listed = (await store.ListAsync(GrantQuery.ForTask(Tenant, limitedTask), null, 100, Ct)).Grants.Select(g => g.Id).Order();
        Assert.Equal(grants.Where((_, i) => results[i] == RecordGrantResult.Recorded).Select(g => g.Id).Order(), listed);
    }

    /// <summary>A telemetry whose measurements are captured, and the capture.</summary>
    private static MetricCapture NewMetrics(out GrantStoreTelemetry telemetry)
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var capture = new MetricCapture(services);
        telemetry = new GrantStoreTelemetry(services.GetRequiredService<IMeterFactory>(), "redis");
        return capture;
    }

    /// <summary>
    /// Pauses writes (scripts included) on the primary of this test's tag until disposed, over an admin connection of
    /// its own (the store's connection does not allow CLIENT). Other tests' writes on that server wait too, for the few
    /// milliseconds a test submits its calls; the pause ends by itself after 10 s. Another tenant's tag when given.
    /// </summary>
    private async Task<IAsyncDisposable> PauseWritesAsync(string? tenant = null)
    {
        var admin = await ConnectAdminAsync();
        RedisKey key = new RedisGrantKeys(KeyPrefix).TagBase(GrantId.RoutingTag(tenant ?? Tenant));
        var server = admin.GetServer(key);
        await server.ExecuteAsync("CLIENT", "PAUSE", 10_000, "WRITE");
        return new Unpause(admin, server);
    }

    private sealed class Unpause(IConnectionMultiplexer admin, IServer server) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await server.ExecuteAsync("CLIENT", "UNPAUSE");
            await admin.DisposeAsync();
        }
    }
}
