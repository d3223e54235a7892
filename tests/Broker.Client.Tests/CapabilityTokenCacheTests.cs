using Broker.Client.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Client.Tests;

public sealed class CapabilityTokenCacheTests(ClientFixture fixture) : IClassFixture<ClientFixture>
{
    private static readonly CapabilityRequest Read = new("tools.read") { Resource = ClientFixture.McpResource };

    [Fact]
    public async Task GetTokenAsync_ManyCalls_OneExchange()
    {
        // Arrange
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), fixture.Options("cache-reuse"), clock), clock);

        // Act
        var tokens = new List<CapabilityToken>();
        for (var i = 0; i < 20; i++)
        {
            tokens.Add(await cache.GetTokenAsync(Read));
            clock.Advance(TimeSpan.FromSeconds(5));
        }

        // Assert
        Assert.All(tokens, t => Assert.Same(tokens[0], t));
        Assert.Equal(1, fixture.Exchanges("cache-reuse"));
    }

    [Fact]
    public async Task GetTokenAsync_PastTheRefreshPoint_ExchangesAgain()
    {
        // Arrange: tools.read is capped at 5 minutes; 10% of that is 30 s, so refresh margin = max(45 s, 30 s) = 45 s.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = fixture.Options("cache-refresh");
        options.RefreshMargin = TimeSpan.FromSeconds(45);
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), options), clock);
        var first = await cache.GetTokenAsync(Read);

        // Act
        clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(46));
        var beforeRefresh = await cache.GetTokenAsync(Read);
        clock.Advance(TimeSpan.FromSeconds(2));
        var afterRefresh = await cache.GetTokenAsync(Read);

        // Assert
        Assert.Same(first, beforeRefresh);
        Assert.NotSame(first, afterRefresh);
        Assert.NotEqual(first.AccessToken, afterRefresh.AccessToken);
        Assert.Equal(2, fixture.Exchanges("cache-refresh"));
    }

    [Fact]
    public async Task GetTokenAsync_RefreshFractionLargerThanMargin_Wins()
    {
        // Arrange: 50% of a 5-minute token is 150 s, more than the 30 s margin.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = fixture.Options("cache-fraction");
        options.RefreshFraction = 0.5;
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), options), clock);
        var first = await cache.GetTokenAsync(Read);

        // Act
        clock.Advance(TimeSpan.FromSeconds(149));
        var before = await cache.GetTokenAsync(Read);
        clock.Advance(TimeSpan.FromSeconds(2));
        var after = await cache.GetTokenAsync(Read);

        // Assert
        Assert.Same(first, before);
        Assert.NotSame(first, after);
    }

    [Fact]
    public async Task GetTokenAsync_FiftyConcurrentCallers_OneExchange()
    {
        // Arrange: hold the subject token source so that all callers are waiting before the exchange goes out.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subject = fixture.Svid();
        subject.Gate = release.Task;
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), fixture.Options("cache-single-flight", subject)));

        // Act: GetTokenAsync returns its task only once the caller has joined (or started) the exchange, and the
        // exchange cannot finish before the gate opens, so all 50 are in flight together.
        using var joined = new CountdownEvent(50);
        var callers = Enumerable.Range(0, 50).Select(_ => Task.Run(async () =>
        {
            var pending = cache.GetTokenAsync(Read);
            joined.Signal();
            return await pending;
        })).ToArray();
        Assert.True(joined.Wait(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        Assert.Equal(1, cache.Count);

        release.SetResult();
        var tokens = await Task.WhenAll(callers);

        // Assert
        Assert.All(tokens, t => Assert.Same(tokens[0], t));
        Assert.Equal(1, subject.Calls);
        Assert.Equal(1, fixture.Exchanges("cache-single-flight"));
    }

    [Fact]
    public async Task GetTokenAsync_OneCallerCancels_SharedExchangeCompletesForTheOthers()
    {
        // Arrange
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subject = fixture.Svid();
        subject.Gate = release.Task;
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), fixture.Options("cache-cancel", subject)));
        using var impatient = new CancellationTokenSource();
        var first = cache.GetTokenAsync(Read, impatient.Token);
        var second = cache.GetTokenAsync(Read);

        // Act
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        release.SetResult();
        var token = await second;

        // Assert
        Assert.Same(token, await cache.GetTokenAsync(Read));
        Assert.Equal(1, subject.Calls);
        Assert.Equal(1, fixture.Exchanges("cache-cancel"));
    }

    [Fact]
    public async Task GetTokenAsync_DifferentRequests_DifferentTokens()
    {
        // Arrange
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), fixture.Options("cache-keys")));

        // Act
        var read = await cache.GetTokenAsync(Read);
        var readAgainOtherOrder = await cache.GetTokenAsync(new CapabilityRequest("tools.read", "tools.read") { Resource = ClientFixture.McpResource });
        var both = await cache.GetTokenAsync(new CapabilityRequest("tools.call", "tools.read") { Resource = ClientFixture.McpResource });
        var otherPurpose = await cache.GetTokenAsync(Read with { Purpose = "other-purpose" });

        // Assert
        Assert.Same(read, readAgainOtherOrder);
        Assert.NotSame(read, both);
        Assert.NotSame(read, otherPurpose);
        Assert.Equal(3, fixture.Exchanges("cache-keys"));
    }

    [Fact]
    public async Task GetTokenAsync_ExchangeFails_FailureNotCached()
    {
        // Arrange
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), fixture.Options("cache-failure")));
        var refused = new CapabilityRequest("tools.write") { Resource = ClientFixture.McpResource };

        // Act
        await Assert.ThrowsAsync<BrokerExchangeException>(() => cache.GetTokenAsync(refused));
        await Assert.ThrowsAsync<BrokerExchangeException>(() => cache.GetTokenAsync(refused));

        // Assert
        Assert.Equal(0, cache.Count);
        Assert.Equal(2, fixture.Host.AuditTrail.Count(e => e.TaskId == "cache-failure"));
    }

    [Fact]
    public async Task Invalidate_OnlyTheRefusedToken_IsDropped()
    {
        // Arrange
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), fixture.Options("cache-invalidate")));
        var first = await cache.GetTokenAsync(Read);
        cache.Invalidate(Read, first);
        var second = await cache.GetTokenAsync(Read);

        // Act: a late report about the first token must not drop the second.
        cache.Invalidate(Read, first);
        var third = await cache.GetTokenAsync(Read);

        // Assert
        Assert.NotSame(first, second);
        Assert.Same(second, third);
        Assert.Equal(2, fixture.Exchanges("cache-invalidate"));
    }

    [Fact]
    public async Task GetTokenAsync_BeyondMaxCachedTokens_StaysBounded()
    {
        // Arrange
        var options = fixture.Options("cache-bound");
        options.MaxCachedTokens = 3;
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), options));

        // Act
        for (var i = 0; i < 6; i++)
        {
            await cache.GetTokenAsync(Read with { TaskId = $"cache-bound-{i}" });
        }

        // Assert
        Assert.Equal(3, cache.Count);
    }
}
