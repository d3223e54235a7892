using Broker.Validation.Internal;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Broker.Validation.Tests.Unit;

public sealed class BrokerTokenOptionsValidatorTests
{
    public static TheoryData<string, Action<BrokerTokenOptions>, string> Invalid => new()
    {
        { "no broker", o => o.Broker = null, "Broker is required" },
        { "relative broker", o => o.Broker = new Uri("/broker", UriKind.Relative), "Broker is required" },
        { "ftp broker", o => o.Broker = new Uri("ftp://broker.example.org"), "Broker is required" },
        { "http broker", o => o.Broker = new Uri("http://broker.example.org"), "must use https" },
        { "http loopback without opt-in", o => { o.Broker = new Uri("http://127.0.0.1:5080"); o.AllowInsecureLoopbackBroker = false; }, "must use https" },
        { "broker with query", o => o.Broker = new Uri("https://broker.example.org/?a=b"), "query" },
        { "broker with user info", o => o.Broker = new Uri("https://u:p@broker.example.org"), "user info" },
        { "no resource", o => o.Resource = null, "Resource is required" },
        { "http resource", o => o.Resource = "http://mcp.example.org/mcp", "Resource is required" },
        { "resource with fragment", o => o.Resource = "https://mcp.example.org/mcp#x", "Resource is required" },
        { "relative resource", o => o.Resource = "/mcp", "Resource is required" },
        { "no tenant", o => o.Tenant = null, "Tenant is required" },
        { "tenant with capitals", o => o.Tenant = "Payments", "Tenant is required" },
        { "tenant too long", o => o.Tenant = new string('a', 129), "Tenant is required" },
        { "negative skew", o => o.ClockSkew = TimeSpan.FromSeconds(-1), "ClockSkew" },
        { "skew above 5 minutes", o => o.ClockSkew = TimeSpan.FromMinutes(6), "ClockSkew" },
        { "key refresh under 1 s", o => o.MinimumKeyRefreshInterval = TimeSpan.FromMilliseconds(500), "MinimumKeyRefreshInterval" },
        { "background refresh under 1 min", o => o.KeyRefreshInterval = TimeSpan.FromSeconds(30), "KeyRefreshInterval" },
        { "no fetch timeout", o => o.FetchTimeout = TimeSpan.Zero, "FetchTimeout" },
        { "tiny token limit", o => o.MaxTokenLength = 100, "MaxTokenLength" },
        { "relative metadata URI", o => o.ResourceMetadataUri = new Uri("/prm", UriKind.Relative), "ResourceMetadataUri" },
        { "staleness under 1 s", o => o.Revocation.MaxStaleness = TimeSpan.FromMilliseconds(10), "MaxStaleness" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validate_InsecureOrIncomplete_Fails(string scenario, Action<BrokerTokenOptions> change, string message)
    {
        // Arrange
        var options = Valid();
        change(options);

        // Act
        var result = new BrokerTokenOptionsValidator().Validate("BrokerToken", options);

        // Assert
        Assert.True(result.Failed, scenario);
        Assert.Contains(message, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://broker.example.org", false)]
    [InlineData("https://broker.example.org/tenants/a", false)]
    [InlineData("http://127.0.0.1:5080", true)]
    [InlineData("http://[::1]:5080", true)]
    public void Validate_Good_Succeeds(string broker, bool allowLoopback)
    {
        // Arrange
        var options = Valid();
        options.Broker = new Uri(broker);
        options.AllowInsecureLoopbackBroker = allowLoopback;

        // Act + Assert
        Assert.Equal(ValidateOptionsResult.Success, new BrokerTokenOptionsValidator().Validate("BrokerToken", options));
    }

    [Fact]
    public async Task HostStart_InvalidOptions_Fails()
    {
        // Arrange + Act + Assert
        await using var broker = await StandInBroker.StartAsync();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestMcpServer.StartAsync(broker.BaseAddress, o => o.Tenant = "Not A Tenant"));
        Assert.Contains("Tenant is required", error.Message, StringComparison.Ordinal);
    }

    private static BrokerTokenOptions Valid() => new()
    {
        Broker = new Uri("https://broker.example.org"),
        Resource = "https://mcp.example.org/mcp",
        Tenant = "payments",
    };
}
