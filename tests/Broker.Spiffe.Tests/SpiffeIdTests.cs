// Broker.Spiffe — SPIFFE for .NET.

namespace Broker.Spiffe.Tests;

public sealed class SpiffeIdTests
{
    [Theory]
    [InlineData("spiffe://example.org", "example.org", "")]
    [InlineData("spiffe://example.org/workload", "example.org", "/workload")]
    [InlineData("spiffe://example.org/ns/prod/sa/api", "example.org", "/ns/prod/sa/api")]
    [InlineData("spiffe://a.b-c_d/A.b-C_9", "a.b-c_d", "/A.b-C_9")]
    [InlineData("spiffe://example.org/...", "example.org", "/...")]
    [InlineData("spiffe://example.org/.hidden", "example.org", "/.hidden")]
    [InlineData("spiffe://1.2.3.4/x", "1.2.3.4", "/x")]
    public void TryParse_Valid_SplitsTrustDomainAndPath(string input, string td, string path)
    {
        // Act
        var ok = SpiffeId.TryParse(input, out var id);

        // Assert
        Assert.True(ok);
        Assert.Equal(td, id.TrustDomain.Name);
        Assert.Equal(path, id.Path);
        Assert.Equal(input, id.ToString());
        Assert.Equal(path.Length > 0, id.HasPath);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("spiffe://")]
    [InlineData("spiffe:///path")]
    [InlineData("example.org/path")]
    [InlineData("SPIFFE://example.org/path")]
    [InlineData("Spiffe://example.org")]
    [InlineData("https://example.org/path")]
    [InlineData("spiffe:/example.org")]
    [InlineData("spiffe://Example.org/path")]
    [InlineData("spiffe://example.org:8080/path")]
    [InlineData("spiffe://user@example.org/path")]
    [InlineData("spiffe://user:pass@example.org/path")]
    [InlineData("spiffe://exa%20mple.org")]
    [InlineData("spiffe://example.org/")]
    [InlineData("spiffe://example.org/path/")]
    [InlineData("spiffe://example.org//path")]
    [InlineData("spiffe://example.org/path//x")]
    [InlineData("spiffe://example.org/./path")]
    [InlineData("spiffe://example.org/path/.")]
    [InlineData("spiffe://example.org/../path")]
    [InlineData("spiffe://example.org/path/..")]
    [InlineData("spiffe://example.org/path?query")]
    [InlineData("spiffe://example.org/path#fragment")]
    [InlineData("spiffe://example.org?query")]
    [InlineData("spiffe://example.org#fragment")]
    [InlineData("spiffe://example.org/pa%2Fth")]
    [InlineData("spiffe://example.org/pa th")]
    [InlineData("spiffe://example.org/pa\u00e9th")]
    [InlineData("spiffe://example.org/pa$th")]
    [InlineData(" spiffe://example.org/path")]
    [InlineData("spiffe://example.org/path ")]
    public void TryParse_Invalid_ReturnsFalse(string? input)
    {
        Assert.False(SpiffeId.TryParse(input, out var id));
        Assert.True(id.IsZero);
    }

    [Fact]
    public void TryParse_LengthLimits_AreEnforced()
    {
        // Arrange: exactly 2048 bytes, then one more.
        var prefix = "spiffe://example.org/";
        var ok = prefix + new string('a', SpiffeId.MaxLength - prefix.Length);
        var tooLong = ok + "a";

        // Assert
        Assert.True(SpiffeId.TryParse(ok, out _));
        Assert.False(SpiffeId.TryParse(tooLong, out _));
        Assert.True(SpiffeId.TryParse("spiffe://" + new string('a', 255) + "/x", out _));
        Assert.False(SpiffeId.TryParse("spiffe://" + new string('a', 256) + "/x", out _));
    }

    [Fact]
    public void Parse_Invalid_ThrowsFormatException()
    {
        Assert.Throws<FormatException>(() => SpiffeId.Parse("spiffe://example.org/"));
    }

    [Fact]
    public void IsMemberOf_ComparesTrustDomain()
    {
        var id = SpiffeId.Parse("spiffe://example.org/api");
        Assert.True(id.IsMemberOf(TrustDomain.Parse("example.org")));
        Assert.False(id.IsMemberOf(TrustDomain.Parse("example.org.evil")));
        Assert.False(default(SpiffeId).IsMemberOf(default));
    }

    [Fact]
    public void FromSegments_BuildsId()
    {
        var td = TrustDomain.Parse("example.org");
        Assert.Equal("spiffe://example.org/ns/prod", SpiffeId.FromSegments(td, "ns", "prod").ToString());
        Assert.Equal("spiffe://example.org", SpiffeId.FromSegments(td).ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a?b")]
    public void FromSegments_InvalidSegment_Throws(string segment)
    {
        Assert.Throws<ArgumentException>(() => SpiffeId.FromSegments(TrustDomain.Parse("example.org"), "ok", segment));
    }

    [Fact]
    public void Equality_IsOrdinal_PathCaseSensitive()
    {
        Assert.Equal(SpiffeId.Parse("spiffe://example.org/a"), SpiffeId.Parse("spiffe://example.org/a"));
        Assert.NotEqual(SpiffeId.Parse("spiffe://example.org/a"), SpiffeId.Parse("spiffe://example.org/A"));
    }
}
