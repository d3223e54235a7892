using Broker.Grants;

namespace Broker.IntegrationTests.Grants;

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
}
