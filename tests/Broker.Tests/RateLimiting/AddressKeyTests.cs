using System.Net;
using Broker.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Tests.RateLimiting;

public sealed class AddressKeyTests
{
    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true)]     // one /64: one budget
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("192.0.2.1", "::ffff:192.0.2.1", true)]               // IPv4-mapped is the IPv4 address
    [InlineData("192.0.2.1", "192.0.2.2", false)]
    [InlineData("::1", "0.0.0.1", false)]
    public void From_GroupsAddressesAsLimitsCountThem(string a, string b, bool same)
    {
        Assert.Equal(same, AddressKey.From(IPAddress.Parse(a)) == AddressKey.From(IPAddress.Parse(b)));
    }

    [Fact]
    public void From_NoAddress_IsItsOwnKey()
    {
        Assert.Equal(AddressKey.Unknown, AddressKey.From((IPAddress?)null));
        Assert.Equal(AddressKey.Unknown, AddressKey.From("not an address"));
        Assert.NotEqual(AddressKey.Unknown, AddressKey.From(IPAddress.IPv6Loopback));
    }

    [Fact]
    public void AddressThrottle_OncePerAddressPerInterval_Bounded()
    {
        // Arrange
        var time = new FakeTimeProvider();
        var throttle = new AddressThrottle(time, TimeSpan.FromMinutes(1), capacity: 2);
        var a = IPAddress.Parse("192.0.2.1");

        // Act + Assert: once per interval.
        Assert.True(throttle.TryEnter(a));
        Assert.False(throttle.TryEnter(a));
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(throttle.TryEnter(a));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(throttle.TryEnter(a));

        // Full: newcomers are silenced until an entry expires.
        Assert.True(throttle.TryEnter(IPAddress.Parse("192.0.2.2")));
        Assert.False(throttle.TryEnter(IPAddress.Parse("192.0.2.3")));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(throttle.TryEnter(IPAddress.Parse("192.0.2.3")));
    }
}
