using Broker.Grants;
using Broker.Grants.Redis;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>
/// Grouped single-grant reads (<see cref="RedisTagBatcher{TRequest, TReply}"/> in <see cref="RedisGrantRecords"/>) on
/// every topology: reads of one tag that queue while its read calls are in flight
/// (<see cref="RedisGrantRecords.ReadCallsInFlight"/>) go together in the next one, and each caller gets its own grant.
/// To make the batch certain, the tests hold script calls on the tag's primary (<c>CLIENT PAUSE … WRITE</c>: the read
/// script, declaring no <c>no-writes</c> flag, counts as one that may write) while they submit the reads: the first
/// <see cref="RedisGrantRecords.ReadCallsInFlight"/> (of a filler grant) are then in flight and held, the others queued
/// behind them, until the test lets them go.
/// </summary>
public abstract partial class RedisGrantStoreTestBase
{
    private const string ReadBatchSize = "broker.grant_store.read.batch_size";

    [Fact]
    public async Task GroupRead_ReadsQueuedWhileTheCallsAreInFlight_GoTogether_EachCallerGetsItsOwnGrant()
    {
        // Arrange: three active grants, a revoked one, and an ID of the tenant that was never recorded.
        using var metrics = NewMetrics(out var telemetry);
        var store = await ConnectStoreAsync(GrantsOptions, telemetry: telemetry);
        var active = Enumerable.Range(0, 3).Select(_ => NewGrant()).ToList();
        var revoked = NewGrant();
        foreach (var grant in active.Append(revoked))
        {
            Assert.Equal(RecordGrantResult.Recorded, await store.RecordAsync(grant, Issued(grant), Ct));
        }

        Assert.IsType<Revoked>(await store.RevokeAsync(revoked.Id, "admin", "read batch", Ct));
        var unknown = GrantId.New(Tenant);
        var filler = NewGrant();
        await store.RecordAsync(filler, Issued(filler), Ct);
        var earlier = metrics.Of(ReadBatchSize).Count;

        // Act: the fillers in flight and held; the others queue behind them, then all go.
        Task fillers, first;
        Task<GrantRecord?>[] found;
        Task<GrantState> revokedState, unknownState, activeState;
        Task<GrantRecord?> revokedFound;
        await using (await PauseWritesAsync())
        {
            fillers = FillReadCalls(store, filler);
            first = AssertFoundAsync(store, active[0]);
            found = [.. active.Skip(1).Select(g => store.FindAsync(g.Id, Ct).AsTask())];
            revokedState = store.GetStateAsync(revoked.Id, Ct).AsTask();
            revokedFound = store.FindAsync(revoked.Id, Ct).AsTask();
            unknownState = store.GetStateAsync(unknown, Ct).AsTask();
            activeState = store.GetStateAsync(active[2].Id, Ct).AsTask();
        }

        // Assert: each caller its own answer, as when each read alone.
        await fillers;
        await first;
        AssertSameGrant(active[1], await found[0]);
        AssertSameGrant(active[2], await found[1]);
        Assert.Equal(GrantState.Revoked, await revokedState);
        Assert.Equal(GrantStatus.Revoked, (await revokedFound)!.Status);
        Assert.Equal(GrantState.Unknown, await unknownState);
        Assert.Equal(GrantState.Active, await activeState);

        // Assert: one call per filler, one for the seven queued behind them.
        Assert.Equal([.. Enumerable.Repeat(1, RedisGrantRecords.ReadCallsInFlight), 7], metrics.Of(ReadBatchSize).Skip(earlier).Select(m => m.Value));
    }

    [Fact]
    public async Task GroupRead_OneCallerCancelledWhileQueued_IsLeftOut_TheOthersGetTheirGrants()
    {
        // Arrange
        using var metrics = NewMetrics(out var telemetry);
        var store = await ConnectStoreAsync(GrantsOptions, telemetry: telemetry);
        var grants = Enumerable.Range(0, 5).Select(_ => NewGrant()).ToList();
        foreach (var grant in grants)
        {
            await store.RecordAsync(grant, Issued(grant), Ct);
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var filler = NewGrant();
        await store.RecordAsync(filler, Issued(filler), Ct);
        var earlier = metrics.Of(ReadBatchSize).Count;

        // Act: the fillers in flight, the others queued; the third's caller goes away before its batch is sent.
        Task fillers;
        List<Task<GrantRecord?>> reads;
        await using (await PauseWritesAsync())
        {
            fillers = FillReadCalls(store, filler);
            reads = [.. grants.Select((g, i) => store.FindAsync(g.Id, i == 2 ? cancel.Token : Ct).AsTask())];
            await cancel.CancelAsync();
        }

        // Assert: the cancelled caller learns it; the others get their grants, and the call carried only them.
        await fillers;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reads[2]);
        foreach (var i in new[] { 0, 1, 3, 4 })
        {
            AssertSameGrant(grants[i], await reads[i]);
        }

        Assert.Equal([.. Enumerable.Repeat(1, RedisGrantRecords.ReadCallsInFlight), 4], metrics.Of(ReadBatchSize).Skip(earlier).Select(m => m.Value));
    }

    [Fact]
    public async Task GroupRead_CallFails_EveryReadInItFailsClosed_AndLaterReadsAreServed()
    {
        // Arrange: one grant's record key holds a hash, so the read script fails with WRONGTYPE at that grant.
        var store = await ConnectStoreAsync(GrantsOptions);
        var keys = new RedisGrantKeys(KeyPrefix);
        var grants = Enumerable.Range(0, 3).Select(_ => NewGrant()).ToList();
        foreach (var grant in grants)
        {
            await store.RecordAsync(grant, Issued(grant), Ct);
        }

        var filler = NewGrant();
        await store.RecordAsync(filler, Issued(filler), Ct);
        var poisoned = GrantId.New(Tenant);
        await Database.HashSetAsync(keys.Grant(GrantId.RoutingTag(Tenant), poisoned), "not", "a record");

        // Act: the fillers, each alone, then two good reads and the poisoned one in one call.
        Task fillers;
        List<Task<GrantRecord?>> batch;
        await using (await PauseWritesAsync())
        {
            fillers = FillReadCalls(store, filler);
            batch = [.. new[] { grants[1].Id, poisoned, grants[2].Id }.Select(id => store.FindAsync(id, Ct).AsTask())];
        }

        // Assert: the reads sent alone are served; every read of the failed call is told the store is unavailable (an
        // introspection answers 503, never "active" or "inactive" on a guess); later reads are served again.
        await fillers;
        foreach (var read in batch)
        {
            await Assert.ThrowsAsync<GrantStoreUnavailableException>(() => read);
        }

        AssertSameGrant(grants[1], await store.FindAsync(grants[1].Id, Ct));
        await Assert.ThrowsAsync<GrantStoreUnavailableException>(() => store.FindAsync(poisoned, Ct).AsTask());
    }

    /// <summary>
    /// Starts <see cref="RedisGrantRecords.ReadCallsInFlight"/> reads of <paramref name="filler"/>, each its own call (the
    /// slots are free), held while the tag's primary is paused; returns their completion, which checks each found it.
    /// </summary>
    private static Task FillReadCalls(RedisGrantStore store, GrantRecord filler)
        => Task.WhenAll(Enumerable.Range(0, RedisGrantRecords.ReadCallsInFlight).Select(_ => AssertFoundAsync(store, filler)));

    private static async Task AssertFoundAsync(RedisGrantStore store, GrantRecord grant) => AssertSameGrant(grant, await store.FindAsync(grant.Id, Ct));
}
