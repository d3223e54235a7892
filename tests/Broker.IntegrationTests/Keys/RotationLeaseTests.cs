using Broker.Grants.Redis;
using Broker.IntegrationTests.Redis;
using Broker.Keys;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Keys;

/// <summary>The rotation lease in a real Redis: one holder at a time, released only by its holder; one rotation per turn.</summary>
public sealed class RotationLeaseTests(RedisServerFixture redis)
{
    [Fact]
    public async Task TwoReplicasRacingOnTheSchedule_RotateExactlyOnce()
    {
        // Arrange: both replicas on one fake clock; a key signs for a day, its successor is published an hour ahead.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var replicas = await KeyRingReplicas.StartAsync(redis.Configuration, services: s => s.AddSingleton<TimeProvider>(clock));
        Assert.Single(replicas.RingA.Statuses);

        // Act: the successor becomes due on both replicas at the same instant (their own schedules wake up together),
        // and each is also asked to run its schedule eight more times in parallel.
        clock.Advance(TimeSpan.FromHours(23));
        var runs = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => (i % 2 == 0 ? replicas.RingA : replicas.RingB).RunScheduleAsync(CancellationToken.None)));

        // Assert: exactly one new key, whichever replica (or schedule) made it, and no racer adds another afterwards.
        Assert.True(runs.Count(r => r) <= 1);
        await Infrastructure.Eventually.HoldsAsync(async () => (await replicas.RingA.RefreshAsync(CancellationToken.None)).Keys.Count >= 2, TimeSpan.FromSeconds(10));
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? replicas.RingA : replicas.RingB).RunScheduleAsync(CancellationToken.None)));
        await replicas.RingA.RefreshAsync(CancellationToken.None);
        await Infrastructure.Eventually.HoldsAsync(() => replicas.RingB.Version == replicas.RingA.Version, TimeSpan.FromSeconds(5));
        Assert.Equal(2, replicas.RingA.Statuses.Count);
        Assert.Equal([KeyState.Active, KeyState.Next], replicas.RingA.Statuses.Select(s => s.State));
        Assert.Equal(replicas.RingA.Statuses[1].Key.ActivatesAt, replicas.RingA.Statuses[0].Key.ActivatesAt + TimeSpan.FromDays(1));
    }

    [Fact]
    public async Task Lease_OneHolderAtATime_ReleasedOnlyWithItsToken()
    {
        // Arrange: two replicas' stores on one prefix.
        var options = new RedisOptions { KeyPrefix = RedisServerFixture.NewKeyPrefix() };
        await using var first = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        await using var second = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var stores = new[] { new RedisKeyRingStore(first, options), new RedisKeyRingStore(second, options) };

        // Act: 20 attempts at once, each with a token of its own.
        var attempts = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i => (Token: $"token-{i}", Won: await stores[i % 2].TryAcquireLeaseAsync($"token-{i}", TimeSpan.FromSeconds(30), CancellationToken.None))));

        // Assert: one winner; nobody else can release or renew it; its holder can, and then the lease is free.
        var winner = Assert.Single(attempts, a => a.Won).Token;
        Assert.False(await stores[1].ReleaseLeaseAsync("token-not-the-holder", CancellationToken.None));
        Assert.False(await stores[0].RenewLeaseAsync("token-not-the-holder", TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.False(await stores[0].TryAcquireLeaseAsync("late", TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.True(await stores[1].RenewLeaseAsync(winner, TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.True(await stores[0].ReleaseLeaseAsync(winner, CancellationToken.None));
        Assert.True(await stores[1].TryAcquireLeaseAsync("next", TimeSpan.FromSeconds(30), CancellationToken.None));
    }

    [Fact]
    public async Task CompareAndSet_AStaleVersion_WritesNothing()
    {
        var options = new RedisOptions { KeyPrefix = RedisServerFixture.NewKeyPrefix() };
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var store = new RedisKeyRingStore(connection, options);

        Assert.Equal(1, await store.CompareAndSetAsync(0, [], CancellationToken.None));
        Assert.Null(await store.CompareAndSetAsync(0, [], CancellationToken.None));
        Assert.Equal(2, await store.CompareAndSetAsync(1, [], CancellationToken.None));
        Assert.Equal(2, (await store.ReadAsync(CancellationToken.None)).Version);
    }
}
