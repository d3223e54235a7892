using System.Collections.Concurrent;
using Broker.Grants;
using Broker.Grants.Redis;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>
/// The batching both group commit and grouped reads use (<see cref="RedisTagBatcher{TRequest, TReply}"/>), with a call
/// the test controls in place of a script: which requests go together, bounds, failures, abandoned callers. The store
/// tests (<c>GroupCommit_*</c>, <c>GroupRead_*</c>) run the same paths against real Redis.
/// </summary>
public sealed class RedisTagBatcherTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Never connects (nothing listens there): the batcher uses the connection only to bound each caller's wait.
    private readonly ConnectionMultiplexer _unused = ConnectionMultiplexer.Connect(
        new ConfigurationOptions { EndPoints = { "127.0.0.1:1" }, AbortOnConnectFail = false, ConnectTimeout = 50 });

    private readonly ConcurrentQueue<(string Tag, int[] Requests)> _calls = new();
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose() => _unused.Dispose();

    [Fact]
    public async Task RequestsArrivingWhileACallIsInFlight_GoTogether_AtMostMaxBatchACall_EachGetsItsOwnReply()
    {
        // Arrange: one call in flight at a time, three requests a call; the first call is held.
        var batcher = NewBatcher(maxBatch: 3, callsInFlight: 1, HeldFirstCall);

        // Act
        var replies = Enumerable.Range(0, 8).Select(i => batcher.RunAsync("test", "t", i, Ct)).ToList();
        _release.SetResult();

        // Assert
        Assert.Equal(Enumerable.Range(0, 8).Select(i => i * 10), await Task.WhenAll(replies));
        Assert.Equal(["0", "1 2 3", "4 5 6", "7"], _calls.Select(c => string.Join(' ', c.Requests)));
    }

    [Fact]
    public async Task TwoTags_NeverShareACall_AndOneTagsHeldCallDoesNotHoldTheOther()
    {
        // Arrange
        var batcher = NewBatcher(maxBatch: 8, callsInFlight: 1, HeldFirstCall);

        // Act: tag a's first call is held; tag b's requests are served meanwhile.
        var a = new[] { batcher.RunAsync("test", "a", 1, Ct), batcher.RunAsync("test", "a", 2, Ct) };
        var b = await batcher.RunAsync("test", "b", 3, Ct);
        _release.SetResult();

        // Assert
        Assert.Equal(30, b);
        Assert.Equal(new[] { 10, 20 }, await Task.WhenAll(a));
        Assert.Equal(["a: 1", "b: 3", "a: 2"], _calls.Select(c => $"{c.Tag}: {string.Join(' ', c.Requests)}"));
    }

    [Fact]
    public async Task CallThrowsBeforeItsFirstAwait_EveryCallerOfItFails_AndTheTagServesLaterCalls()
    {
        // Arrange: the first call throws at once (as building a bad argument would).
        var batcher = NewBatcher(maxBatch: 8, callsInFlight: 1, (tag, requests) =>
            _calls.Count == 1 ? throw new InvalidOperationException("bad call") : Task.FromResult(requests.Select(r => r * 10).ToArray()));

        // Act
        var failed = batcher.RunAsync("test", "t", 1, Ct);
        var later = await batcher.RunAsync("test", "t", 2, Ct);

        // Assert: the failure reaches its caller; the tag's sender was released, so the next call was sent.
        Assert.Equal("bad call", (await Assert.ThrowsAsync<InvalidOperationException>(() => failed)).Message);
        Assert.Equal(20, later);
    }

    [Fact]
    public async Task CallAnswersTheWrongNumberOfReplies_EveryCallerOfItFails()
    {
        // Arrange: the held call's batch of three gets two replies.
        var batcher = NewBatcher(maxBatch: 8, callsInFlight: 1, (tag, requests) =>
            _calls.Count == 1 ? HeldFirstCall(tag, requests) : Task.FromResult(new[] { 0, 0 }));

        // Act
        var first = batcher.RunAsync("test", "t", 1, Ct);
        var batch = Enumerable.Range(2, 3).Select(i => batcher.RunAsync("test", "t", i, Ct)).ToList();
        _release.SetResult();

        // Assert
        Assert.Equal(10, await first);
        foreach (var call in batch)
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => call);
        }
    }

    [Fact]
    public async Task CallerWhoseWaitEndedBeforeItsBatchWasSent_IsLeftOutOfIt()
    {
        // Arrange: a 1 s bound on every wait (what is sent after the release has that long); the first call held past it.
        var batcher = NewBatcher(maxBatch: 8, callsInFlight: 1, HeldFirstCall, TimeSpan.FromSeconds(1));
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        // Act: the held call's caller and one queued caller time out, one is cancelled, and one still waits when the
        // held call returns.
        var held = batcher.RunAsync("test", "t", 1, Ct);
        var timedOut = batcher.RunAsync("test", "t", 2, Ct);
        var cancelled = batcher.RunAsync("test", "t", 3, cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAsync<GrantStoreUnavailableException>(() => held);
        await Assert.ThrowsAsync<GrantStoreUnavailableException>(() => timedOut);
        var waiting = batcher.RunAsync("test", "t", 4, Ct);
        _release.SetResult();

        // Assert: the abandoned requests were never sent (the held call's late reply was dropped).
        Assert.Equal(40, await waiting);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(["1", "4"], _calls.Select(c => string.Join(' ', c.Requests)));
    }

    /// <summary>The first call waits for <see cref="_release"/>. Replies are the requests times ten.</summary>
    private async Task<int[]> HeldFirstCall(string tag, int[] requests)
    {
        if (_calls.Count == 1)
        {
            await _release.Task.WaitAsync(Ct);
        }

        return [.. requests.Select(r => r * 10)];
    }

    private RedisTagBatcher<int, int> NewBatcher(int maxBatch, int callsInFlight, Func<string, int[], Task<int[]>> send, TimeSpan? timeout = null)
    {
        var options = new RedisOptions { OperationTimeout = timeout ?? TimeSpan.FromSeconds(10) };
        var connection = new RedisStoreConnection(_unused, options, NullLogger.Instance);
        // Every call is recorded before it runs: _calls.Count is the number of the call running.
        return new RedisTagBatcher<int, int>(connection, maxBatch, callsInFlight, (tag, requests) =>
        {
            _calls.Enqueue((tag, requests));
            return send(tag, requests);
        });
    }
}
