using Broker.Jose.DPoP;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Jose.Tests.DPoP;

public sealed class InMemoryDPoPReplayCacheTests
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(70);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task TryAddAsync_SameKeyTwice_OnlyTheFirstIsNew()
    {
        // Arrange
        var cache = new InMemoryDPoPReplayCache(_time);

        // Act
        var first = await cache.TryAddAsync("k", Lifetime, TestContext.Current.CancellationToken);
        var second = await cache.TryAddAsync("k", Lifetime, TestContext.Current.CancellationToken);
        var other = await cache.TryAddAsync("other", Lifetime, TestContext.Current.CancellationToken);

        // Assert
        Assert.True(first);
        Assert.False(second);
        Assert.True(other);
    }

    [Fact]
    public async Task TryAddAsync_AfterTheLifetime_TheKeyIsNewAgain()
    {
        // Arrange
        var cache = new InMemoryDPoPReplayCache(_time);
        await cache.TryAddAsync("k", Lifetime, TestContext.Current.CancellationToken);

        // Act
        _time.Advance(Lifetime - TimeSpan.FromTicks(1));
        var justBefore = await cache.TryAddAsync("k", Lifetime, TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromTicks(1));
        var atExpiry = await cache.TryAddAsync("k", Lifetime, TestContext.Current.CancellationToken);
        var again = await cache.TryAddAsync("k", Lifetime, TestContext.Current.CancellationToken);

        // Assert
        Assert.False(justBefore);
        Assert.True(atExpiry);
        Assert.False(again);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task TryAddAsync_Full_FailsClosedInsteadOfEvicting()
    {
        // Arrange
        var cache = new InMemoryDPoPReplayCache(_time, capacity: 3);
        foreach (var key in new[] { "a", "b", "c" })
        {
            Assert.True(await cache.TryAddAsync(key, Lifetime, TestContext.Current.CancellationToken));
        }

        // Act / Assert: a new key is refused, and every recorded key is still recorded.
        await Assert.ThrowsAsync<DPoPReplayCacheUnavailableException>(
            async () => await cache.TryAddAsync("d", Lifetime, TestContext.Current.CancellationToken));
        foreach (var key in new[] { "a", "b", "c" })
        {
            Assert.False(await cache.TryAddAsync(key, Lifetime, TestContext.Current.CancellationToken));
        }

        Assert.Equal(3, cache.Count);
    }

    [Fact]
    public async Task TryAddAsync_FullOfExpiredEntries_MakesRoom()
    {
        // Arrange
        var cache = new InMemoryDPoPReplayCache(_time, capacity: 2);
        await cache.TryAddAsync("a", TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await cache.TryAddAsync("b", TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

        // Act: "a" has expired, "b" has not.
        _time.Advance(TimeSpan.FromSeconds(15));
        var added = await cache.TryAddAsync("c", Lifetime, TestContext.Current.CancellationToken);

        // Assert
        Assert.True(added);
        Assert.Equal(2, cache.Count);
        await Assert.ThrowsAsync<DPoPReplayCacheUnavailableException>(
            async () => await cache.TryAddAsync("d", Lifetime, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task TryAddAsync_ManyExpiredEntries_AreDropped()
    {
        // Arrange
        var cache = new InMemoryDPoPReplayCache(_time, capacity: 1000);
        for (var i = 0; i < 1000; i++)
        {
            await cache.TryAddAsync("k" + i, Lifetime, TestContext.Current.CancellationToken);
        }

        // Act
        _time.Advance(Lifetime);
        await cache.TryAddAsync("new", Lifetime, TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task TryAddAsync_SameKeyInParallel_ExactlyOneIsNew()
    {
        // Arrange
        var cache = new InMemoryDPoPReplayCache(_time);
        using var start = new ManualResetEventSlim();

        // Act
        var tasks = Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            start.Wait(TestContext.Current.CancellationToken);
            return await cache.TryAddAsync("same", Lifetime, TestContext.Current.CancellationToken);
        })).ToArray();
        start.Set();
        var results = await Task.WhenAll(tasks);

        // Assert
        Assert.Single(results, r => r);
    }

    [Fact]
    public async Task TryAddAsync_BadArguments_Throw()
    {
        // Arrange
        var cache = new InMemoryDPoPReplayCache(_time);

        // Act / Assert
        await Assert.ThrowsAsync<ArgumentException>(async () => await cache.TryAddAsync("", Lifetime, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await cache.TryAddAsync("k", TimeSpan.Zero, CancellationToken.None));
        await Assert.ThrowsAsync<OperationCanceledException>(async () => await cache.TryAddAsync("k", Lifetime, new CancellationToken(canceled: true)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InMemoryDPoPReplayCache(_time, capacity: 0));
    }
}
