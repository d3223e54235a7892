using System.Net;
using System.Text.Json;
using Broker.IntegrationTests.Infrastructure;
using Broker.Testing;

namespace Broker.IntegrationTests.Dev;

/// <summary>
/// Dev mode comes from the <c>--dev</c> flag only, and only on loopback. The real process, started every way an
/// operator could try: <c>Broker:DevMode</c> from the environment or the command line enables nothing (no
/// <c>bundle: dev</c>, no plain-http issuer, no /dev endpoints); <c>--dev</c> refuses non-loopback endpoints from
/// Kestrel settings, <c>ASPNETCORE_URLS</c> and <c>--urls</c>, and follows a loopback <c>--urls</c>.
/// </summary>
public sealed class DevModeConfigurationTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string DevPolicy()
    {
        var path = Path.Combine(_directory.Path, "dev-policy");
        Directory.CreateDirectory(path);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "dev-policy", "dev.yaml"), Path.Combine(path, "dev.yaml"), overwrite: true);
        return path;
    }

    [Fact]
    public async Task DevModeFromEnvironment_DoesNotAllowTheDevBundle()
    {
        await using var broker = BrokerProcess.Start(
            _directory.Path,
            ["--Broker:Issuer=https://broker.example", "--Broker:Keys:AllowEphemeralKey=true", $"--Broker:Policy:Path={DevPolicy()}"],
            new Dictionary<string, string> { ["Broker__DevMode"] = "true" });

        Assert.NotEqual(0, await broker.WaitForExitAsync());
        Assert.Contains("'bundle: dev' is only accepted when the broker runs with --dev", broker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DevModeFromTheCommandLine_DoesNotAllowAPlainHttpIssuer()
    {
        await using var broker = BrokerProcess.Start(
            _directory.Path,
            ["--Broker:DevMode=true", "--Broker:Issuer=http://127.0.0.1:5080", "--Broker:Keys:AllowEphemeralKey=true", $"--Broker:Policy:Path={DevPolicy()}"]);

        Assert.NotEqual(0, await broker.WaitForExitAsync());
        Assert.Contains("Broker:Issuer must use https.", broker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DevModeFromConfiguration_MapsNoDevEndpoints()
    {
        // Arrange: a valid production configuration (a trust domain from a bundle file) plus Broker:DevMode both ways.
        var port = FreePorts.Next();
        _ = new TestSpiffeAuthority("acme.test", _directory.Write("policy/bundles/acme.json", "{}"));
        _directory.Write("policy/acme.yaml", """
            tenant: acme
            trust:
              spiffe:
                - trust_domain: acme.test
                  bundle_file: bundles/acme.json
            capabilities:
              - name: files.read
                resource: https://mcp.acme.test/files
            rules:
              - subjects: ["spiffe://acme.test/agents/*"]
                capabilities: [files.read]
                permissions: [execute]
            """);
        await using var broker = BrokerProcess.Start(
            _directory.Path,
            ["--Broker:DevMode=true", "--Broker:Issuer=https://broker.example", "--Broker:Keys:AllowEphemeralKey=true", $"--Broker:Policy:Path={Path.Combine(_directory.Path, "policy")}", "--urls", $"http://127.0.0.1:{port}"],
            new Dictionary<string, string> { ["Broker__DevMode"] = "true" });
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await broker.WaitUntilReadyAsync(client);

        // Act
        using var svid = await client.PostAsync("/dev/svid", null);
        using var verify = await client.PostAsync("/dev/verify", null);

        // Assert
        Assert.Equal(HttpStatusCode.NotFound, svid.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, verify.StatusCode);
        Assert.DoesNotContain("DEV MODE", broker.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://0.0.0.0:{port}")]
    [InlineData("http://[::]:{port}")]
    [InlineData("http://*:{port}")]
    [InlineData("http://broker.example:{port}")]
    [InlineData("http://127.0.0.1:0")]
    public async Task Dev_WithANonLoopbackKestrelEndpoint_RefusesToStart(string url)
    {
        url = url.Replace("{port}", FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        await using var broker = BrokerProcess.Start(_directory.Path, ["--dev", $"--Kestrel:Endpoints:Http:Url={url}"]);

        Assert.NotEqual(0, await broker.WaitForExitAsync());
        Assert.Contains($"--dev listens on loopback only, with a fixed port: '{url}' (Kestrel:Endpoints:Http:Url) is not.", broker.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", broker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dev_WithNonLoopbackAspNetCoreUrls_RefusesToStart()
    {
        var url = $"http://+:{FreePorts.Next()}";
        await using var broker = BrokerProcess.Start(_directory.Path, ["--dev"], new Dictionary<string, string> { ["ASPNETCORE_URLS"] = url });

        Assert.NotEqual(0, await broker.WaitForExitAsync());
        Assert.Contains($"'{url}' (--urls / ASPNETCORE_URLS) is not", broker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dev_WithOneNonLoopbackUrlAmongLoopbackOnes_RefusesToStart()
    {
        var url = $"http://0.0.0.0:{FreePorts.Next()}";
        await using var broker = BrokerProcess.Start(_directory.Path, ["--dev", "--urls", $"http://127.0.0.1:{FreePorts.Next()};{url}"]);

        Assert.NotEqual(0, await broker.WaitForExitAsync());
        Assert.Contains($"'{url}' (--urls / ASPNETCORE_URLS) is not", broker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dev_WithALoopbackUrl_ListensThere_AndTheIssuerFollows()
    {
        // Arrange
        var port = FreePorts.Next();
        var issuer = $"http://127.0.0.1:{port}";
        await using var broker = BrokerProcess.Start(_directory.Path, ["--dev", "--urls", issuer]);
        using var client = new HttpClient { BaseAddress = new Uri(issuer) };
        await broker.WaitUntilReadyAsync(client);

        // Act
        using var metadata = JsonDocument.Parse(await client.GetStringAsync("/.well-known/oauth-authorization-server"));
        using var svid = await client.PostAsync("/dev/svid", null);

        // Assert
        Assert.Equal(issuer, metadata.RootElement.GetProperty("issuer").GetString());
        Assert.Equal(HttpStatusCode.OK, svid.StatusCode);
        Assert.Contains($"Listening on {issuer} only.", broker.Output, StringComparison.Ordinal);
    }
}
