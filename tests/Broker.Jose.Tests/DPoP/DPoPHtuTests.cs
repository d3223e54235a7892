using Broker.Jose.DPoP;

namespace Broker.Jose.Tests.DPoP;

public sealed class DPoPHtuTests
{
    public static TheoryData<string, string> Normalised => new()
    {
        // Already normal.
        { "https://broker.example/token", "https://broker.example/token" },
        { "http://broker.example:8080/a/b/", "http://broker.example:8080/a/b/" },

        // Case (RFC 3986 §6.2.2.1): scheme and host lowered, percent-encodings raised, the path kept.
        { "HTTPS://Broker.EXAMPLE/Token", "https://broker.example/Token" },
        { "https://broker.example/a%2fb", "https://broker.example/a%2Fb" },

        // Percent-encoding (§6.2.2.2): unreserved characters decoded, the rest kept encoded.
        { "https://broker.example/%7Euser/%41%2D%5F%2E", "https://broker.example/~user/A-_." },
        { "https://broker.example/a%20b", "https://broker.example/a%20b" },
        { "https://%42roker.example/", "https://broker.example/" },

        // Dot segments (§6.2.2.3, §5.2.4), also when percent-encoded.
        { "https://broker.example/a/./b/../c", "https://broker.example/a/c" },
        { "https://broker.example/b/c/./../../g", "https://broker.example/g" },
        { "https://broker.example/a/b/..", "https://broker.example/a/" },
        { "https://broker.example/a/b/.", "https://broker.example/a/b/" },
        { "https://broker.example/../../token", "https://broker.example/token" },
        { "https://broker.example/a/%2E%2E/token", "https://broker.example/token" },
        { "https://broker.example/a//../b", "https://broker.example/a/b" },
        { "https://broker.example/.", "https://broker.example/" },

        // Scheme-based (§6.2.3): empty path, default or empty port.
        { "https://broker.example", "https://broker.example/" },
        { "https://broker.example:443/token", "https://broker.example/token" },
        { "http://broker.example:80/token", "http://broker.example/token" },
        { "https://broker.example:/token", "https://broker.example/token" },
        { "https://broker.example:0443/token", "https://broker.example/token" },
        { "https://broker.example:80/token", "https://broker.example:80/token" },
        { "http://broker.example:443/token", "http://broker.example:443/token" },

        // Query and fragment are not compared (RFC 9449 §4.3 step 9).
        { "https://broker.example/token?a=1&b=%zz", "https://broker.example/token" },
        { "https://broker.example/token#frag", "https://broker.example/token" },
        { "https://broker.example?x", "https://broker.example/" },

        // IP literals.
        { "https://[::1]:8443/token", "https://[::1]:8443/token" },
        { "https://[FE80::1]/token", "https://[fe80::1]/token" },
        { "http://127.0.0.1:5000/token", "http://127.0.0.1:5000/token" },

        // pchar allows sub-delims, ':' and '@' in the path.
        { "https://broker.example/a:b@c;d=e", "https://broker.example/a:b@c;d=e" },
    };

    [Theory]
    [MemberData(nameof(Normalised))]
    public void TryNormalize_Uri_IsWrittenInNormalForm(string uri, string expected)
    {
        // Act
        var ok = DPoPHtu.TryNormalize(uri, out var normalized);

        // Assert
        Assert.True(ok, uri);
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("/token")]
    [InlineData("broker.example/token")]
    [InlineData("ftp://broker.example/token")]
    [InlineData("urn:example:token")]
    [InlineData("https:/broker.example/token")]
    [InlineData("https:broker.example/token")]
    [InlineData("https:///token")]
    [InlineData("https://:443/token")]
    [InlineData("https://user@broker.example/token")]
    [InlineData("https://user:pass@broker.example/token")]
    [InlineData("https://broker.example:65536/token")]
    [InlineData("https://broker.example:0/token")]
    [InlineData("https://broker.example:-1/token")]
    [InlineData("https://broker.example:4a3/token")]
    [InlineData("https://broker.example/a b")]
    [InlineData(" https://broker.example/token")]
    [InlineData("https://broker.example/token ")]
    [InlineData("https://broker.example\\token")]
    [InlineData("https://broker.example/a\\b")]
    [InlineData("https://broker.example/%zz")]
    [InlineData("https://broker.example/%4")]
    [InlineData("https://broker.example/caf\u00e9")]
    [InlineData("https://br\u00f6ker.example/")]
    [InlineData("https://broker.example/a\"b")]
    [InlineData("https://broker.example/a[b]")]
    [InlineData("https://broker.example/a{b}")]
    [InlineData("https://[::1/token")]
    [InlineData("https://[]/token")]
    [InlineData("https://[v1.x]/token")]
    [InlineData("https://[::1]x/token")]
    [InlineData("https://bro ker.example/")]
    public void TryNormalize_NotAnHttpUriReadOneWay_IsRefused(string? uri)
    {
        // Act
        var ok = DPoPHtu.TryNormalize(uri, out var normalized);

        // Assert
        Assert.False(ok);
        Assert.Null(normalized);
    }

    [Fact]
    public void TryNormalize_LongerThanMaxLength_IsRefused()
    {
        // Arrange
        var prefix = "https://broker.example/";
        var atLimit = prefix + new string('a', DPoPHtu.MaxLength - prefix.Length);

        // Act / Assert
        Assert.True(DPoPHtu.TryNormalize(atLimit, out _));
        Assert.False(DPoPHtu.TryNormalize(atLimit + "a", out _));
    }

    [Fact]
    public void TryNormalize_ManyDotSegments_AreAllRemoved()
    {
        // Arrange: a path of thousands of dot segments.
        var uri = "https://broker.example" + string.Concat(Enumerable.Repeat("/a/..", 1500)) + "/token";

        // Act
        var ok = DPoPHtu.TryNormalize(uri, out var normalized);

        // Assert
        Assert.True(ok);
        Assert.Equal("https://broker.example/token", normalized);
    }
}
