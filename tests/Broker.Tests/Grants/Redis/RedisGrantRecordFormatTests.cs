using Broker.Grants.Redis;

namespace Broker.Tests.Grants.Redis;

public sealed class RedisGrantRecordFormatTests
{
    private const long Now = 1_764_000_000_123;
    private static readonly long Retention = (long)TimeSpan.FromMinutes(15).TotalMilliseconds;

    [Theory]
    [InlineData(1_000, 0)]
    [InlineData(600_000, -300_000)]
    [InlineData(600_000, 1_500_000)]
    [InlineData(3_600_000, 86_400_000)]
    [InlineData(1, -86_400_000)]
    public void Expiry_ReadByAReplicaLaterOrWithSkew_IsTheStoredExpiry(long lifetime, long readerOffset)
    {
        // Arrange: written now; read while the record lives (up to expiry + retention) by a clock off by a day.
        var expiry = Now + lifetime;

        // Act
        var stored = RedisGrantRecordFormat.StoredExpiry(expiry, Now, Retention);

        // Assert
        Assert.True(stored < 1L << 32);
        Assert.Equal(expiry, RedisGrantRecordFormat.Expiry(stored, Now + readerOffset));
    }

    [Fact]
    public void StoredExpiry_LifetimeNearTheWindow_IsTheWholeExpiry()
    {
        var expiry = Now + (long)TimeSpan.FromDays(20).TotalMilliseconds;

        var stored = RedisGrantRecordFormat.StoredExpiry(expiry, Now, Retention);

        Assert.Equal(expiry, stored);
        Assert.Equal(expiry, RedisGrantRecordFormat.Expiry(stored, Now + 12345));
    }

    [Theory]
    [InlineData(600_000, -600)]
    [InlineData(1_234, 1_234)]
    [InlineData(0, 0)]
    public void StoredLifetime_WholeSecondsNegated_OthersInMilliseconds(long lifetime, long expected)
        => Assert.Equal(expected, RedisGrantRecordFormat.StoredLifetime(lifetime));

    [Theory]
    [InlineData("task-3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f", "task-")]
    [InlineData("3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f", "")]
    [InlineData("3F2A9C1E-7B4D-4E8A-9C0F-1A2B3C4D5E6F", null)]
    [InlineData("{3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f}", null)]
    [InlineData("task-3f2a9c1e7b4d4e8a9c0f1a2b3c4d5e6f", null)]
    [InlineData("short", null)]
    public void SplitTask_OnlyACanonicalTrailingUuid_IsSplit(string taskId, string? prefix)
    {
        var split = RedisGrantRecordFormat.SplitTask(taskId);

        Assert.Equal(prefix, split?.Prefix);
        if (split is { } parts)
        {
            Assert.Equal(taskId, parts.Prefix + new Guid(parts.Uuid, bigEndian: true).ToString("D"));
        }
    }
}
