using System.Reflection;
using System.Text.Json;
using Broker.Cli.Tests.Infrastructure;

namespace Broker.Cli.Tests.Commands;

public sealed class PolicyCheckCommandTests : IDisposable
{
    private const string ValidPolicy = """
        tenant: acme
        max_lifetime: 15m
        trust:
          spiffe:
            - trust_domain: acme.example
              bundle_endpoint: https://spire.acme.example/bundle
        capabilities:
          - name: invoices.read
            resource: https://mcp.acme.example/invoices
            tools: [list_invoices, get_invoice]
        rules:
          - name: readers
            subjects: ["spiffe://acme.example/agents/*"]
            capabilities: [invoices.read]
            permissions: [discover, execute]
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("brokerctl-policy-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task PolicyCheck_ValidDirectory_Exit0()
    {
        // Arrange
        File.WriteAllText(Path.Combine(_directory, "acme.yaml"), ValidPolicy);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        // Act: through the public entry point.
        var exitCode = await Program.RunAsync(["policy", "check", _directory], stdout, stderr);

        // Assert
        Assert.Equal(0, exitCode);
        Assert.Equal("", stderr.ToString());
        Assert.StartsWith($"{_directory}: valid, 1 tenant (acme), version sha256:", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyCheck_Sharing_PrintsBothSidesAndWarnsAboutOneSidedEntries()
    {
        // Arrange: acme shares invoices.read with beta (which accepts it) and with gamma (which does not).
        File.WriteAllText(Path.Combine(_directory, "acme.yaml"), ValidPolicy + "\nshares:\n  - capabilities: [invoices.read]\n    tenants: [beta, gamma]\n    permissions: [discover, execute]\n");
        File.WriteAllText(Path.Combine(_directory, "beta.yaml"), "tenant: beta\naccepts:\n  - tenant: acme\n    capabilities: [invoices.read]\n");
        File.WriteAllText(Path.Combine(_directory, "gamma.yaml"), "tenant: gamma\n");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        // Act
        var exitCode = await Program.RunAsync(["policy", "check", _directory], stdout, stderr);
        using var json = new StringWriter();
        var jsonExit = await Program.RunAsync(["--json", "policy", "check", _directory], json, new StringWriter());

        // Assert: valid (a one-sided share is not an error), both sides shown, the one-sided share a warning with its line.
        Assert.Equal((0, 0), (exitCode, jsonExit));
        Assert.Contains("shared: acme shares invoices.read with beta (discover, execute); beta accepts it as acme:invoices.read", stdout.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("with gamma", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains(
            $"{Path.Join(_directory, "acme.yaml")}:17: warning: acme shares invoices.read with gamma, which does not accept it: nothing crosses",
            stderr.ToString(),
            StringComparison.Ordinal);
        using var document = JsonDocument.Parse(json.ToString());
        var shared = Assert.Single(document.RootElement.GetProperty("shared").EnumerateArray());
        Assert.Equal("beta", shared.GetProperty("consumer").GetString());
        Assert.Single(document.RootElement.GetProperty("warnings").EnumerateArray());
    }

    [Fact]
    public async Task PolicyCheck_InvalidDirectory_Exit5WithFileLineColumn()
    {
        // Arrange
        File.WriteAllText(Path.Combine(_directory, "acme.yaml"), ValidPolicy.Replace("[discover, execute]", "[discover, fly]", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(_directory, "bad.yaml"), "tenant: beta\nbogus: 1\n");

        // Act
        var run = await Brokerctl.RunAsync("policy", "check", _directory);

        // Assert
        Assert.Equal(5, run.ExitCode);
        var lines = run.OutLines;
        Assert.Equal(2, lines.Length);
        Assert.Equal($"{Path.Join(_directory, "acme.yaml")}:15:18: unknown permission 'fly'; expected discover, execute or publish", lines[0]);
        Assert.StartsWith($"{Path.Join(_directory, "bad.yaml")}:2:1: unknown key 'bogus'", lines[1], StringComparison.Ordinal);
        Assert.Equal($"brokerctl: 2 errors in policy directory '{_directory}'", run.Error.Trim());
    }

    [Fact]
    public async Task PolicyCheck_DecisionPoint_RefusedUnlessItsHostIsAllowed()
    {
        // Arrange
        File.WriteAllText(Path.Combine(_directory, "acme.yaml"), ValidPolicy.Replace("capabilities:\n", "decision_points:\n  - { name: opa, url: \"https://pdp.acme.example/access/v1/evaluation\" }\ncapabilities:\n", StringComparison.Ordinal));

        // Act
        var none = await Brokerctl.RunAsync("policy", "check", _directory);
        var other = await Brokerctl.RunAsync("policy", "check", "--authzen-allowed-host", "pdp.other.example", _directory);
        var allowed = await Brokerctl.RunAsync("policy", "check", "--authzen-allowed-host", "pdp.other.example", "--authzen-allowed-host", "pdp.acme.example", _directory);
        var invalid = await Brokerctl.RunAsync("policy", "check", "--authzen-allowed-host", "https://pdp.acme.example", _directory);

        // Assert
        Assert.Equal(5, none.ExitCode);
        Assert.Contains($"{Path.Join(_directory, "acme.yaml")}:8:", none.OutLines.Single(), StringComparison.Ordinal);
        Assert.Contains("AllowedHosts lists no host", none.OutLines.Single(), StringComparison.Ordinal);
        Assert.Equal(5, other.ExitCode);
        Assert.Contains("names host 'pdp.acme.example'", other.OutLines.Single(), StringComparison.Ordinal);
        Assert.Equal(0, allowed.ExitCode);
        Assert.Equal(2, invalid.ExitCode);
        Assert.Contains("--authzen-allowed-host takes a host or host:port, not 'https://pdp.acme.example'", invalid.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyCheck_DevBundle_RefusedUnlessDev()
    {
        // Arrange
        File.WriteAllText(
            Path.Combine(_directory, "dev.yaml"),
            ValidPolicy.Replace("bundle_endpoint: https://spire.acme.example/bundle", "bundle: dev", StringComparison.Ordinal));

        // Act
        var production = await Brokerctl.RunAsync("policy", "check", _directory);
        var dev = await Brokerctl.RunAsync("policy", "check", "--dev", _directory);

        // Assert
        Assert.Equal(5, production.ExitCode);
        Assert.Contains("dev.yaml:6:15: 'bundle: dev' is only accepted when the broker runs with --dev", production.Out, StringComparison.Ordinal);
        Assert.Equal(0, dev.ExitCode);
    }

    [Fact]
    public async Task PolicyCheck_Json_ReportsErrorsAsObjects()
    {
        // Arrange
        File.WriteAllText(Path.Combine(_directory, "bad.yaml"), "tenant: beta\nbogus: 1\n");

        // Act
        var run = await Brokerctl.RunAsync("--json", "policy", "check", _directory);

        // Assert
        Assert.Equal(5, run.ExitCode);
        using var document = JsonDocument.Parse(run.Out);
        Assert.False(document.RootElement.GetProperty("valid").GetBoolean());
        var error = Assert.Single(document.RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal(2, error.GetProperty("line").GetInt32());
        Assert.StartsWith("unknown key 'bogus'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyCheck_JsonValid_ReportsTenantsAndVersion()
    {
        // Arrange
        File.WriteAllText(Path.Combine(_directory, "acme.yaml"), ValidPolicy);

        // Act
        var run = await Brokerctl.RunAsync("policy", "check", _directory, "--json");

        // Assert
        Assert.Equal(0, run.ExitCode);
        using var document = JsonDocument.Parse(run.Out);
        Assert.True(document.RootElement.GetProperty("valid").GetBoolean());
        Assert.Equal("acme", document.RootElement.GetProperty("tenants")[0].GetString());
        Assert.StartsWith("sha256:", document.RootElement.GetProperty("version").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyCheck_EmptyDirectory_Exit5()
    {
        // Act
        var run = await Brokerctl.RunAsync("policy", "check", _directory);

        // Assert
        Assert.Equal(5, run.ExitCode);
        Assert.Contains("has no .yaml or .yml files", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyCheck_MissingDirectory_UsageError()
    {
        // Act
        var run = await Brokerctl.RunAsync("policy", "check", Path.Combine(_directory, "missing"));

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("does not exist", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyCheck_LoopbackHttpUrls_RefusedUnlessAllowInsecureLoopback()
    {
        // Arrange: a local experiment, a broker with Broker:Policy:AllowInsecureLoopbackUrls=true and no --dev.
        File.WriteAllText(
            Path.Combine(_directory, "local.yaml"),
            ValidPolicy.Replace("https://spire.acme.example/bundle", "http://127.0.0.1:8081/bundle", StringComparison.Ordinal)
                .Replace("https://mcp.acme.example/invoices", "http://127.0.0.1:5090/mcp", StringComparison.Ordinal));

        // Act
        var production = await Brokerctl.RunAsync("policy", "check", _directory);
        var allowed = await Brokerctl.RunAsync("policy", "check", "--allow-insecure-loopback", _directory);

        // Assert
        Assert.Equal(5, production.ExitCode);
        Assert.Contains("local.yaml:6:24: 'bundle_endpoint' must use https", production.Out, StringComparison.Ordinal);
        Assert.Contains("local.yaml:9:15: 'resource' must be an absolute https URI", production.Out, StringComparison.Ordinal);
        Assert.Equal(
            $"brokerctl: 2 errors in policy directory '{_directory}' (it is valid with http:// URLs on loopback allowed: --allow-insecure-loopback)",
            production.Error.Trim());
        Assert.Equal(0, allowed.ExitCode);
    }

    [Theory]
    [InlineData("http://spire.acme.example/bundle")]  // plain http off loopback: never
    [InlineData("bundle: dev")]                        // the dev identity source: only --dev
    public async Task PolicyCheck_AllowInsecureLoopback_AllowsNothingElse(string change)
    {
        // Arrange
        File.WriteAllText(
            Path.Combine(_directory, "acme.yaml"),
            change.StartsWith("bundle", StringComparison.Ordinal)
                ? ValidPolicy.Replace("bundle_endpoint: https://spire.acme.example/bundle", change, StringComparison.Ordinal)
                : ValidPolicy.Replace("https://spire.acme.example/bundle", change, StringComparison.Ordinal));

        // Act
        var run = await Brokerctl.RunAsync("policy", "check", "--allow-insecure-loopback", _directory);

        // Assert
        Assert.Equal(5, run.ExitCode);
    }

    [Fact]
    public async Task PolicyCheck_TwoTenantsAcceptingOneWorkload_FailsNamingBothAndThePatterns()
    {
        // Arrange: both tenants trust the same trust domain, and both patterns accept spiffe://acme.example/agents/reader.
        File.WriteAllText(Path.Combine(_directory, "acme.yaml"), ValidPolicy.Replace(
            "bundle_endpoint: https://spire.acme.example/bundle",
            "bundle_endpoint: https://spire.acme.example/bundle\n      subjects: [\"spiffe://acme.example/agents/*\"]",
            StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(_directory, "billing.yaml"), """
            tenant: billing
            trust:
              spiffe:
                - trust_domain: acme.example
                  bundle_endpoint: https://spire.acme.example/bundle
                  subjects: ["spiffe://acme.example/*/reader"]
            """);

        // Act
        var run = await Brokerctl.RunAsync("policy", "check", _directory);

        // Assert
        Assert.Equal(5, run.ExitCode);
        var line = Assert.Single(run.OutLines);
        Assert.StartsWith(
            $"{Path.Join(_directory, "billing.yaml")}:4:7: trust domain 'acme.example': tenant 'billing' accepts 'spiffe://acme.example/*/reader' here " +
            "and tenant 'acme' accepts 'spiffe://acme.example/agents/*' (acme.yaml:5)",
            line,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyCheck_SamplePolicy_IsValidForTheDevBrokerItIsWrittenFor()
    {
        // Arrange: samples/dev/policy, the policy `broker --dev` runs with.
        var sample = typeof(PolicyCheckCommandTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "SamplePolicyDirectory").Value!;

        // Act
        var dev = await Brokerctl.RunAsync("policy", "check", "--dev", sample);
        var production = await Brokerctl.RunAsync("policy", "check", sample);

        // Assert: valid for --dev; a production broker refuses only the dev identity source, and brokerctl says how to
        // check it as what it is.
        Assert.Equal(0, dev.ExitCode);
        Assert.Contains(": valid, 1 tenant (dev), version sha256:", dev.Out, StringComparison.Ordinal);
        Assert.Equal(5, production.ExitCode);
        Assert.EndsWith("'bundle: dev' is only accepted when the broker runs with --dev", Assert.Single(production.OutLines), StringComparison.Ordinal);
        Assert.EndsWith("(it is valid for a --dev broker: --dev)", production.Error.Trim(), StringComparison.Ordinal);
    }
}
