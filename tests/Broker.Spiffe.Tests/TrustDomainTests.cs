// Broker.Spiffe — SPIFFE for .NET.

namespace Broker.Spiffe.Tests;

public sealed class TrustDomainTests
{
    [Theory]
    [InlineData("example.org", "example.org")]
    [InlineData("spiffe://example.org", "example.org")]
    [InlineData("a", "a")]
    [InlineData("my-domain_1.example.org", "my-domain_1.example.org")]
    public void TryParse_Valid_ReturnsName(string input, string expected)
    {
        // Act
        var ok = TrustDomain.TryParse(input, out var td);

        // Assert
        Assert.True(ok);
        Assert.Equal(expected, td.Name);
        Assert.Equal("spiffe://" + expected, td.IdString);
        Assert.Equal(expected, td.ToString());
        Assert.False(td.IsZero);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("spiffe://")]
    [InlineData("Example.org")]
    [InlineData("example.org:8080")]
    [InlineData("user@example.org")]
    [InlineData("exa%41mple.org")]
    [InlineData("spiffe://example.org/path")]
    [InlineData("spiffe://example.org/")]
    [InlineData("SPIFFE://example.org")]
    [InlineData("https://example.org")]
    [InlineData("example org")]
    public void TryParse_Invalid_ReturnsFalse(string? input)
    {
        Assert.False(TrustDomain.TryParse(input, out var td));
        Assert.True(td.IsZero);
    }

    [Fact]
    public void TryParse_LongestName_Accepted_OneMore_Rejected()
    {
        Assert.True(TrustDomain.TryParse(new string('a', 255), out _));
        Assert.False(TrustDomain.TryParse(new string('a', 256), out _));
    }

    [Fact]
    public void Parse_Invalid_ThrowsFormatException()
    {
        var ex = Assert.Throws<FormatException>(() => TrustDomain.Parse("Bad"));
        Assert.StartsWith("spiffeid:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Equality_BareAndIdForms_AreEqual()
    {
        Assert.Equal(TrustDomain.Parse("example.org"), TrustDomain.Parse("spiffe://example.org"));
        Assert.NotEqual(TrustDomain.Parse("example.org"), TrustDomain.Parse("example.com"));
        Assert.Equal(TrustDomain.Parse("example.org").GetHashCode(), TrustDomain.Parse("spiffe://example.org").GetHashCode());
    }

    [Fact]
    public void Default_IsZero_WithEmptyName()
    {
        TrustDomain td = default;
        Assert.True(td.IsZero);
        Assert.Equal(string.Empty, td.Name);
    }
}
