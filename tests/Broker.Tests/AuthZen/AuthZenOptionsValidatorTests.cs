using Broker.AuthZen;

namespace Broker.Tests.AuthZen;

public sealed class AuthZenOptionsValidatorTests
{
    [Fact]
    public void Validate_Defaults_Succeed()
    {
        // Act
        var result = new AuthZenOptionsValidator().Validate(null, new AuthZenOptions());

        // Assert
        Assert.True(result.Succeeded);
    }

    // The changes are Action<AuthZenOptions>, typed as Delegate: a public theory cannot name the broker's internal options type.
    public static TheoryData<string, Delegate> Invalid => new()
    {
        { "SecretsDirectory", Change(o => o.SecretsDirectory = "relative/secrets") },
        { "SecretsDirectory", Change(o => o.SecretsDirectory = "/nonexistent/broker-authzen-secrets") },
        { "MaxConcurrentRequests", Change(o => o.MaxConcurrentRequests = 0) },
        { "MaxConcurrentRequests", Change(o => o.MaxConcurrentRequests = 1025) },
        { "MaxResponseBytes", Change(o => o.MaxResponseBytes = 100) },
        { "MaxResponseBytes", Change(o => o.MaxResponseBytes = 2 * 1024 * 1024) },
        { "FailuresToOpenCircuit", Change(o => o.FailuresToOpenCircuit = 0) },
        { "OpenCircuitFor", Change(o => o.OpenCircuitFor = TimeSpan.Zero) },
        { "OpenCircuitFor", Change(o => o.OpenCircuitFor = TimeSpan.FromHours(1)) },
        { "DecisionCacheSize", Change(o => o.DecisionCacheSize = 0) },
        { "AllowedHosts", Change(o => o.AllowedHosts.Add("https://pdp.example")) },
        { "AllowedHosts", Change(o => o.AllowedHosts.Add("*.example")) },
        { "AllowedHosts", Change(o => o.AllowedHosts.Add("pdp.example/access/v1/evaluation")) },
        { "AllowedHosts", Change(o => o.AllowedHosts.Add("")) },
    };

    private static Delegate Change(Action<AuthZenOptions> change) => change;

    [Fact]
    public void Validate_AllowedHosts_HostsAndPortsAccepted_AndTheResolvedListAllowsThem()
    {
        // Arrange
        var options = new AuthZenOptions();
        options.AllowedHosts.Add("pdp.example");
        options.AllowedHosts.Add("127.0.0.1:8181");

        // Act
        var result = new AuthZenOptionsValidator().Validate(null, options);
        var hosts = options.ResolveAllowedHosts();

        // Assert
        Assert.True(result.Succeeded);
        Assert.True(hosts.Allows(new Uri("https://pdp.example/access/v1/evaluation")));
        Assert.True(hosts.Allows(new Uri("http://127.0.0.1:8181/access/v1/evaluation")));
        Assert.False(hosts.Allows(new Uri("https://other.example/access/v1/evaluation")));
    }

    [Fact]
    public void ResolveAllowedHosts_AnInvalidEntry_AllowsNothing()
    {
        // Arrange: were the validator bypassed, a bad entry must not widen the list.
        var options = new AuthZenOptions();
        options.AllowedHosts.Add("pdp.example");
        options.AllowedHosts.Add("*");

        // Act & Assert
        Assert.True(options.ResolveAllowedHosts().IsEmpty);
        Assert.True(new AuthZenOptions().ResolveAllowedHosts().IsEmpty);
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validate_OutOfRange_FailsNamingTheSetting(string setting, Delegate change)
    {
        // Arrange
        var options = new AuthZenOptions();
        ((Action<AuthZenOptions>)change)(options);

        // Act
        var result = new AuthZenOptionsValidator().Validate(null, options);

        // Assert
        Assert.True(result.Failed);
        Assert.Contains($"Broker:AuthZen:{setting}", result.FailureMessage, StringComparison.Ordinal);
    }
}
