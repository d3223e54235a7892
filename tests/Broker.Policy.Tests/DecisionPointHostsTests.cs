namespace Broker.Policy.Tests;

/// <summary>
/// The operator's allowlist of decision point hosts (<c>Broker:AuthZen:AllowedHosts</c>): exact hosts, an optional
/// port (none = 443), no wildcards; anything more than a host and a port is refused as an entry.
/// </summary>
public sealed class DecisionPointHostsTests
{
    [Theory]
    [InlineData("pdp.example", "https://pdp.example/access/v1/evaluation")]
    [InlineData("pdp.example", "https://pdp.example:443/access/v1/evaluation")]
    [InlineData("pdp.example:443", "https://pdp.example/access/v1/evaluation")]
    [InlineData("pdp.example:8443", "https://pdp.example:8443/access/v1/evaluation")]
    [InlineData("PDP.Example", "https://pdp.EXAMPLE/access/v1/evaluation")]
    [InlineData("127.0.0.1:8181", "http://127.0.0.1:8181/access/v1/evaluation")]
    [InlineData("10.0.0.7", "https://10.0.0.7/access/v1/evaluation")]
    [InlineData("[fd00::1]:8443", "https://[fd00::1]:8443/access/v1/evaluation")]
    [InlineData("[::1]", "https://[0:0:0:0:0:0:0:1]/access/v1/evaluation")]
    [InlineData("bücher.example", "https://xn--bcher-kva.example/access/v1/evaluation")]
    public void Allows_AListedHostAndPort_IsAllowed(string entry, string url)
    {
        // Arrange
        var hosts = DecisionPointHosts.Create("other.example", entry);

        // Act & Assert
        Assert.True(hosts.Allows(new Uri(url)));
    }

    [Theory]
    [InlineData("pdp.example", "https://pdp.example:8443/access/v1/evaluation")]
    [InlineData("pdp.example:8443", "https://pdp.example/access/v1/evaluation")]
    [InlineData("pdp.example", "https://pdp.example.evil.test/access/v1/evaluation")]
    [InlineData("pdp.example", "https://evilpdp.example/access/v1/evaluation")]
    [InlineData("example", "https://pdp.example/access/v1/evaluation")]
    [InlineData("pdp.example", "https://pdp.example./access/v1/evaluation")]
    [InlineData("pdp.example", "https://127.0.0.1/access/v1/evaluation")]
    [InlineData("pdp.example", "https://169.254.169.254/latest/meta-data")]
    [InlineData("127.0.0.1:8181", "http://127.0.0.1:8182/access/v1/evaluation")]
    [InlineData("127.0.0.1", "http://localhost/access/v1/evaluation")]
    [InlineData("[fd00::1]:8443", "https://[fd00::2]:8443/access/v1/evaluation")]
    public void Allows_AnotherHostOrPort_IsRefused(string entry, string url)
    {
        // Arrange
        var hosts = DecisionPointHosts.Create(entry);

        // Act & Assert
        Assert.False(hosts.Allows(new Uri(url)));
    }

    [Fact]
    public void None_RefusesEverything()
    {
        // Act & Assert
        Assert.True(DecisionPointHosts.None.IsEmpty);
        Assert.True(DecisionPointHosts.Create().IsEmpty);
        Assert.False(DecisionPointHosts.None.Allows(new Uri("https://pdp.example/access/v1/evaluation")));
        Assert.False(DecisionPointHosts.Create([]).Allows(new Uri("http://127.0.0.1:8181/access/v1/evaluation")));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(" pdp.example")]
    [InlineData("pdp.example ")]
    [InlineData("pdp example")]
    [InlineData("https://pdp.example")]
    [InlineData("pdp.example/access/v1/evaluation")]
    [InlineData("pdp.example/")]
    [InlineData("user@pdp.example")]
    [InlineData("user:pw@pdp.example")]
    [InlineData("*.example")]
    [InlineData("*")]
    [InlineData("pdp.example?x=1")]
    [InlineData("pdp.example#x")]
    [InlineData("pdp%2eexample")]
    [InlineData("pdp.example:")]
    [InlineData("pdp.example:0")]
    [InlineData("pdp.example:65536")]
    [InlineData("pdp.example:http")]
    [InlineData("pdp.example:+443")]
    [InlineData("pdp.example:443:443")]
    [InlineData("::1")]
    [InlineData("[::1")]
    [InlineData("pdp_example\\x")]
    [InlineData("pdp.example\n")]
    public void TryCreate_NotAHostAndPort_IsRefusedAndNamed(string entry)
    {
        // Act
        var created = DecisionPointHosts.TryCreate(["pdp.valid.example", entry], out var hosts, out var invalid);

        // Assert: nothing of the list is allowed when one entry is wrong.
        Assert.False(created);
        Assert.Equal([entry], invalid);
        Assert.True(hosts.IsEmpty);
        Assert.Throws<ArgumentException>(() => DecisionPointHosts.Create(entry));
    }
}
