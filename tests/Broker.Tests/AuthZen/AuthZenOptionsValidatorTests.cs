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

    public static TheoryData<string, Action<AuthZenOptions>> Invalid => new()
    {
        { "SecretsDirectory", o => o.SecretsDirectory = "relative/secrets" },
        { "SecretsDirectory", o => o.SecretsDirectory = "/nonexistent/broker-authzen-secrets" },
        { "MaxConcurrentRequests", o => o.MaxConcurrentRequests = 0 },
        { "MaxConcurrentRequests", o => o.MaxConcurrentRequests = 1025 },
        { "MaxResponseBytes", o => o.MaxResponseBytes = 100 },
        { "MaxResponseBytes", o => o.MaxResponseBytes = 2 * 1024 * 1024 },
        { "FailuresToOpenCircuit", o => o.FailuresToOpenCircuit = 0 },
        { "OpenCircuitFor", o => o.OpenCircuitFor = TimeSpan.Zero },
        { "OpenCircuitFor", o => o.OpenCircuitFor = TimeSpan.FromHours(1) },
        { "DecisionCacheSize", o => o.DecisionCacheSize = 0 },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validate_OutOfRange_FailsNamingTheSetting(string setting, Action<AuthZenOptions> change)
    {
        // Arrange
        var options = new AuthZenOptions();
        change(options);

        // Act
        var result = new AuthZenOptionsValidator().Validate(null, options);

        // Assert
        Assert.True(result.Failed);
        Assert.Contains($"Broker:AuthZen:{setting}", result.FailureMessage, StringComparison.Ordinal);
    }
}
