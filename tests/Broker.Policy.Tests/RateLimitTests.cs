namespace Broker.Policy.Tests;

public sealed class RateLimitTests
{
    [Theory]
    [InlineData("50/s", 50, 1)]
    [InlineData("600/m", 600, 60)]
    [InlineData("1/h", 1, 3600)]
    [InlineData("1000000/s", 1_000_000, 1)]
    public void TryParse_Rate_IsABucketOfNRefilledEachPeriod(string text, int permits, int periodSeconds)
    {
        Assert.True(RateLimit.TryParse(text, out var limit));
        Assert.Equal(permits, limit.Permits);
        Assert.Equal(TimeSpan.FromSeconds(periodSeconds), limit.Period);
        Assert.False(limit.IsUnlimited);
        Assert.Equal(text, limit.ToString());
    }

    [Fact]
    public void TryParse_Off_IsUnlimited()
    {
        Assert.True(RateLimit.TryParse("off", out var limit));
        Assert.True(limit.IsUnlimited);
        Assert.Equal("off", limit.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("50")]
    [InlineData("0/s")]
    [InlineData("-1/s")]
    [InlineData("+5/s")]
    [InlineData("5/d")]
    [InlineData("5 /s")]
    [InlineData("1000001/s")]
    [InlineData("99999999999/s")]
    [InlineData("OFF")]
    [InlineData("5/sec")]
    public void TryParse_Invalid_Fails(string? text) => Assert.False(RateLimit.TryParse(text, out _));
}
