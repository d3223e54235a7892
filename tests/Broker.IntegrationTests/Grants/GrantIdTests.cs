using Broker.Grants;

namespace Broker.IntegrationTests.Grants;

public sealed class GrantIdTests
{
    [Fact]
    public void New_IsUrlSafeBoundedAndStartsWithTheTenantsRoutingTag()
    {
        var id = GrantId.New("acme-corp");

        Assert.True(id.Length <= GrantId.MaxLength);
        Assert.Matches("^[A-Za-z0-9_-]{4}\\.[A-Za-z0-9_-]{22}$", id);
        Assert.StartsWith(GrantId.RoutingTag("acme-corp") + ".", id, StringComparison.Ordinal);
        Assert.True(GrantId.IsWellFormed(id));
        Assert.True(GrantId.TryGetRoutingTag(id, out var tag));
        Assert.Equal(GrantId.RoutingTag("acme-corp"), tag);
    }

    [Fact]
    public void New_ManyIds_AreDistinctAndCarry128RandomBits()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => GrantId.New("acme-corp")).ToList();

        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());

        // 22 base64url characters hold 132 bits; 16 random bytes fill 128 of them, so the last character
        // takes only four values: its low four bits are always zero.
        Assert.All(ids, id => Assert.Contains(id[^1], "AQgw"));
    }

    [Fact]
    public void RoutingTag_IsStablePerTenantAndSpreads()
    {
        Assert.Equal(GrantId.RoutingTag("acme-corp"), GrantId.RoutingTag("acme-corp"));
        var tags = Enumerable.Range(0, 1000).Select(i => GrantId.RoutingTag($"tenant-{i}")).Distinct(StringComparer.Ordinal).Count();
        Assert.True(tags > 990);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("AAAA")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("AAA{.AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("AAAA.AAAAAAAAAAAAAAAAAAAAA}")]
    [InlineData("AAAA.AAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("AAAA:AAAAAAAAAAAAAAAAAAAAAA")]
    public void IsWellFormed_AnythingNewCouldNotHaveMade_IsFalse(string? candidate)
    {
        Assert.False(GrantId.IsWellFormed(candidate));
        Assert.False(GrantId.TryGetRoutingTag(candidate, out _));
    }
}
