using System.Threading.RateLimiting;
using Broker.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Tests.RateLimiting;

public sealed class BoundedPartitionedRateLimiterTests
{
    private static TokenBucketRateLimiterOptions Bucket(int limit, TimeSpan period) => new()
    {
        TokenLimit = limit,
        TokensPerPeriod = limit,
        ReplenishmentPeriod = period,
        QueueLimit = 0,
        AutoReplenishment = false,
    };

    [Fact]
    public void AttemptAcquire_PerKeyBudget_OtherKeysUnaffected()
    {
        // Arrange
        using var limiter = new BoundedPartitionedRateLimiter<string>(_ => Bucket(2, TimeSpan.FromHours(1)), 10, new FakeTimeProvider());

        // Act
        using var first = limiter.AttemptAcquire("a");
        using var second = limiter.AttemptAcquire("a");
        using var third = limiter.AttemptAcquire("a");
        using var other = limiter.AttemptAcquire("b");

        // Assert
        Assert.True(first.IsAcquired);
        Assert.True(second.IsAcquired);
        Assert.False(third.IsAcquired);
        Assert.True(third.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.Equal(TimeSpan.FromHours(1), retryAfter);
        Assert.True(other.IsAcquired);
    }

    [Fact]
    public void AttemptAcquire_ManyDistinctKeys_NeverHoldsMoreThanTheCapacity_AndRefusesNewKeysWhenFull()
    {
        // Arrange
        using var limiter = new BoundedPartitionedRateLimiter<int>(_ => Bucket(5, TimeSpan.FromHours(1)), 100, new FakeTimeProvider());

        // Act: an attacker varies the key.
        var refused = 0;
        for (var key = 0; key < 10_000; key++)
        {
            using var lease = limiter.AttemptAcquire(key);
            refused += lease.IsAcquired ? 0 : 1;
        }

        using var known = limiter.AttemptAcquire(7);
        using var unknown = limiter.AttemptAcquire(20_000);

        // Assert: bounded, fail closed for newcomers, still serving the keys it holds.
        Assert.Equal(100, limiter.Count);
        Assert.Equal(10_000 - 100, refused);
        Assert.True(known.IsAcquired);
        Assert.False(unknown.IsAcquired);
        Assert.True(unknown.TryGetMetadata(MetadataName.RetryAfter, out _));
    }

    [Fact]
    public void AttemptAcquire_ZeroPermitsOnAnUnseenKey_TakesNoSlot()
    {
        using var limiter = new BoundedPartitionedRateLimiter<int>(_ => Bucket(1, TimeSpan.FromHours(1)), 100, new FakeTimeProvider());

        for (var key = 0; key < 1000; key++)
        {
            using var lease = limiter.AttemptAcquire(key, 0);
            Assert.True(lease.IsAcquired);
        }

        Assert.Equal(0, limiter.Count);
    }

    [Fact]
    public void HasPermit_LooksWithoutTaking_AndNeedsAWholePermit()
    {
        // Arrange
        using var limiter = new BoundedPartitionedRateLimiter<string>(_ => Bucket(3, TimeSpan.FromMinutes(1)), 10, new FakeTimeProvider());

        // Act + Assert: an unseen key has a permit, and looking takes no slot.
        Assert.True(limiter.HasPermit("a", out _));
        Assert.Equal(0, limiter.Count);
        for (var i = 0; i < 3; i++)
        {
            using var lease = limiter.AttemptAcquire("a");
            Assert.True(lease.IsAcquired);
            Assert.Equal(i < 2, limiter.HasPermit("a", out _));
        }

        // Spent: the time for one permit to refill (the bucket refills continuously).
        Assert.False(limiter.HasPermit("a", out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(20), retryAfter);
    }

    [Fact]
    public void Timer_ReplenishesAndDropsIdleBuckets_FreeingSlots()
    {
        // Arrange: one slot, taken by a spent bucket whose period is one tick (it refills on the next pass).
        var time = new FakeTimeProvider();
        using var limiter = new BoundedPartitionedRateLimiter<string>(_ => Bucket(1, TimeSpan.FromTicks(1)), 1, time, idleLimit: TimeSpan.Zero);
        using (var spent = limiter.AttemptAcquire("a"))
        {
            Assert.True(spent.IsAcquired);
        }

        using (var full = limiter.AttemptAcquire("b"))
        {
            Assert.False(full.IsAcquired);
        }

        // Act: one pass refills "a" (now idle), the next drops it.
        time.Advance(TimeSpan.FromMilliseconds(100));
        time.Advance(TimeSpan.FromMilliseconds(100));
        using var newcomer = limiter.AttemptAcquire("b");

        // Assert
        Assert.True(newcomer.IsAcquired);
        Assert.Equal(1, limiter.Count);
    }
}
