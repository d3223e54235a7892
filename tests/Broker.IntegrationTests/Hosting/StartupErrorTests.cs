using Broker.IntegrationTests.Infrastructure;

namespace Broker.IntegrationTests.Hosting;

/// <summary>
/// Configuration errors stop the real broker process with one readable message that lists every problem, a
/// non-zero exit code, no stack trace, and no secret from the configuration.
/// </summary>
public sealed class StartupErrorTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task ManyBadSettingsAtOnce_AreAllListedInOneMessage_ExitNonZero_NoStackTrace()
    {
        // Arrange: a plain-http issuer, a missing and a garbage key file, a policy that is not YAML, a Redis string
        // with no endpoint, a number that is not one, an out-of-range option, a TLS certificate that is not there.
        var garbageKey = _directory.Write("garbage.pem", "-----BEGIN EC PRIVATE KEY-----\nbm90IGEga2V5\n-----END EC PRIVATE KEY-----\n");
        var missingKey = Path.Combine(_directory.Path, "missing.pem");
        _directory.Write("policy/acme.yaml", "tenant: [\n");
        var missingCertificate = Path.Combine(_directory.Path, "tls.pem");
        string[] arguments =
        [
            "--Broker:Issuer=http://broker.example",
            $"--Broker:Keys:SigningKeyFiles:0={missingKey}",
            $"--Broker:Keys:SigningKeyFiles:1={garbageKey}",
            $"--Broker:Policy:Path={Path.Combine(_directory.Path, "policy")}",
            "--Broker:Redis:Configuration=,,,",
            "--Broker:Grants:AuditMaxLength=lots",
            "--Broker:Subjects:ClockSkew=01:00:00",
            "--Kestrel:Endpoints:Https:Url=https://127.0.0.1:0",
            $"--Kestrel:Endpoints:Https:Certificate:Path={missingCertificate}",
        ];

        // Act
        await using var broker = BrokerProcess.Start(_directory.Path, arguments);
        var exitCode = await broker.WaitForExitAsync();

        // Assert
        Assert.NotEqual(0, exitCode);
        var output = broker.Output;
        Assert.Contains("The broker cannot start: 8 problems.", output, StringComparison.Ordinal);
        Assert.Contains("Broker:Issuer must use https.", output, StringComparison.Ordinal);
        Assert.Contains($"'{missingKey}' does not exist.", output, StringComparison.Ordinal);
        Assert.Contains($"'{garbageKey}' is not a PEM-encoded EC private key", output, StringComparison.Ordinal);
        Assert.Contains("Broker:Policy: acme.yaml:2:", output, StringComparison.Ordinal);
        Assert.Contains("Broker:Redis:Configuration names no Redis endpoint", output, StringComparison.Ordinal);
        Assert.Contains("Broker:Grants:AuditMaxLength: the value is not a valid System.Int32.", output, StringComparison.Ordinal);
        Assert.Contains("Broker:Subjects:ClockSkew must be between 0 and 5 minutes.", output, StringComparison.Ordinal);
        Assert.Contains($"Kestrel:Endpoints:Https:Certificate:Path: '{missingCertificate}' does not exist.", output, StringComparison.Ordinal);
        AssertNoStackTrace(output);
        Assert.DoesNotContain("lots", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NothingConfigured_NamesTheIssuerTheKeyAndThePolicy()
    {
        await using var broker = BrokerProcess.Start(_directory.Path, []);
        var exitCode = await broker.WaitForExitAsync();

        Assert.NotEqual(0, exitCode);
        var output = broker.Output;
        Assert.Contains("The broker cannot start: 3 problems.", output, StringComparison.Ordinal);
        Assert.Contains("Broker:Issuer is required", output, StringComparison.Ordinal);
        Assert.Contains("Broker:Keys:SigningKeyFiles is empty", output, StringComparison.Ordinal);
        Assert.Contains("Broker:Policy:Path is required", output, StringComparison.Ordinal);
        AssertNoStackTrace(output);
    }

    [Fact]
    public async Task InvalidRedisStringAndMissingPolicyDirectory_AreNamed_WithoutEchoingThePassword()
    {
        await using var broker = BrokerProcess.Start(_directory.Path,
        [
            "--Broker:Issuer=https://broker.example",
            "--Broker:Keys:AllowEphemeralKey=true",
            $"--Broker:Policy:Path={Path.Combine(_directory.Path, "no-such-directory")}",
            "--Broker:Redis:Configuration=127.0.0.1:6379,password=hunter2-secret,no-such-option=1",
        ]);
        var exitCode = await broker.WaitForExitAsync();

        Assert.NotEqual(0, exitCode);
        var output = broker.Output;
        Assert.Contains("The broker cannot start: 2 problems.", output, StringComparison.Ordinal);
        Assert.Contains("Broker:Redis:Configuration is not a valid Redis configuration string.", output, StringComparison.Ordinal);
        Assert.Contains("the policy directory does not exist", output, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret", output, StringComparison.Ordinal);
        AssertNoStackTrace(output);
    }

    private static void AssertNoStackTrace(string output)
    {
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
    }
}
