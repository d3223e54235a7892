using Broker.Cli.Tests.Infrastructure;

namespace Broker.Cli.Tests;

/// <summary>--broker, --token, --token-file, --timeout, their environment variables, and the failure exit codes.</summary>
public sealed class GlobalOptionsTests
{
    private const string GrantId = "tujWc8y-DuYgN79FvtyU1w";

    [Fact]
    public async Task Environment_BrokerUrlAndToken_Used()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        var variables = new Dictionary<string, string> { ["BROKER_URL"] = stub.BaseUri.ToString(), ["BROKER_TOKEN"] = AdminApiStub.AcmeToken };

        // Act
        var run = await Brokerctl.RunAsync(variables, "grants", "show", GrantId);

        // Assert
        Assert.Equal(0, run.ExitCode);
    }

    [Fact]
    public async Task Options_OverrideEnvironment()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        var variables = new Dictionary<string, string> { ["BROKER_URL"] = "https://elsewhere.example.org", ["BROKER_TOKEN"] = "wrong" };

        // Act
        var run = await Brokerctl.RunAsync(variables, Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "show", GrantId));

        // Assert
        Assert.Equal(0, run.ExitCode);
    }

    [Fact]
    public async Task TokenFile_TokenWithTrailingNewline_Used()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, AdminApiStub.AcmeToken + "\n");

        try
        {
            // Act
            var run = await Brokerctl.RunAsync("grants", "show", GrantId, "--broker", stub.BaseUri.ToString(), "--token-file", file);

            // Assert
            Assert.Equal(0, run.ExitCode);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task TokenFile_Missing_UsageError()
    {
        // Act
        var run = await Brokerctl.RunAsync("--broker", "https://broker.example.org", "--token-file", "/nonexistent/admin.jwt", "grants", "show", GrantId);

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("cannot read the token file", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenAndTokenFile_Together_UsageError()
    {
        // Act
        var run = await Brokerctl.RunAsync("--broker", "https://broker.example.org", "--token", "t", "--token-file", "/tmp/x", "grants", "show", GrantId);

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("not both", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("broker.example.org")]
    [InlineData("ftp://broker.example.org")]
    [InlineData("http://broker.example.org")]
    [InlineData("https://admin:secret@broker.example.org")]
    [InlineData("https://broker.example.org/?x=1")]
    public async Task BrokerUrl_NotAbsoluteHttpsOrLoopbackHttp_UsageError(string url)
    {
        // Act
        var run = await Brokerctl.RunAsync("--broker", url, "--token", "t", "grants", "show", GrantId);

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("brokerctl: the broker URL", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("BROKER_URL")]
    [InlineData("BROKER_TOKEN")]
    public async Task MissingConnectionSetting_UsageError(string missing)
    {
        // Arrange
        var variables = new Dictionary<string, string> { ["BROKER_URL"] = "https://broker.example.org", ["BROKER_TOKEN"] = "t" };
        variables.Remove(missing);

        // Act
        var run = await Brokerctl.RunAsync(variables, "grants", "show", GrantId);

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("brokerctl: no ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_Invalid_Exit3()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "grants", "show", GrantId));

        // Assert
        Assert.Equal(3, run.ExitCode);
        Assert.Equal("brokerctl: authentication failed: 401 invalid_token: the token is missing, expired or not for this broker", run.Error.Trim());
    }

    [Fact]
    public async Task ClosedPort_Exit4()
    {
        // Act
        var run = await Brokerctl.RunAsync("--broker", $"http://127.0.0.1:{Brokerctl.ClosedPort()}", "--token", AdminApiStub.AcmeToken, "grants", "show", GrantId);

        // Assert
        Assert.Equal(4, run.ExitCode);
        Assert.StartsWith("brokerctl: cannot reach the broker at http://127.0.0.1:", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoreUnavailable_Exit4WithRetryAfter()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        stub.Unavailable = true;

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "list", "--tenant", "acme"));

        // Assert
        Assert.Equal(4, run.ExitCode);
        Assert.Equal("brokerctl: the broker is unavailable: 503 temporarily_unavailable: the grant store is unreachable (retry after 5 s)", run.Error.Trim());
    }

    [Fact]
    public async Task Timeout_SlowBroker_Exit4()
    {
        // Arrange: a listener that accepts and never answers.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;

        try
        {
            // Act
            var run = await Brokerctl.RunAsync("--broker", $"http://127.0.0.1:{port}", "--token", AdminApiStub.AcmeToken, "--timeout", "1", "grants", "show", GrantId);

            // Assert
            Assert.Equal(4, run.ExitCode);
            Assert.Contains("did not answer within 1 s", run.Error, StringComparison.Ordinal);
        }
        finally
        {
            listener.Stop();
        }
    }

    [Theory]
    [InlineData("grants", "show", GrantId)]
    [InlineData("grants", "show", "nope")]
    [InlineData("grants", "show", AdminApiStub.EchoTokenGrantId)]
    [InlineData("grants", "list", "--tenant", "globex")]
    [InlineData("grants", "list", "--tenant", "acme", "--subject", "a", "--task", "b")]
    [InlineData("--json", "grants", "revoke", "nope", "--reason", "r")]
    [InlineData("audit", "tail")]
    [InlineData("unavailable")]
    [InlineData("closed")]
    public async Task Token_NeverPrinted(params string[] args)
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        stub.Unavailable = args[0] == "unavailable";
        string[] command = args[0] is "unavailable" or "closed" ? ["grants", "show", GrantId] : args;
        var broker = args[0] == "closed" ? $"http://127.0.0.1:{Brokerctl.ClosedPort()}" : stub.BaseUri.ToString();

        // Act
        var run = await Brokerctl.RunAsync(["--broker", broker, "--token", AdminApiStub.AcmeToken, .. command]);

        // Assert
        Assert.DoesNotContain(AdminApiStub.AcmeToken, run.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(AdminApiStub.AcmeToken, run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_EchoedByBroker_Redacted()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "show", AdminApiStub.EchoTokenGrantId));

        // Assert
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("brokerctl: the broker refused the request: 400 invalid_request: cannot use Bearer [redacted]", run.Error.Trim());
    }

    [Fact]
    public async Task Token_NotPrintable_UsageErrorWithoutEcho()
    {
        // Act
        var run = await Brokerctl.RunAsync("--broker", "https://broker.example.org", "--token", "secret value", "grants", "show", GrantId);

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.DoesNotContain("secret", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData]
    [InlineData("grants")]
    [InlineData("grants", "list", "--tenant", "acme", "--unknown")]
    [InlineData("grants", "frobnicate")]
    [InlineData("--timeout", "0", "grants", "show", GrantId)]
    public async Task ParseErrors_UsageError(params string[] args)
    {
        // Act
        var run = await Brokerctl.RunAsync(["--broker", "https://broker.example.org", "--token", "t", .. args]);

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("brokerctl: ", run.Error, StringComparison.Ordinal);
        Assert.Single(run.Error.Trim().Split('\n'));
    }

    [Fact]
    public async Task Help_Exit0()
    {
        // Act
        var run = await Brokerctl.RunAsync("grants", "list", "--help");

        // Assert
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("--tenant", run.Out, StringComparison.Ordinal);
        Assert.Contains("--all", run.Out, StringComparison.Ordinal);
    }
}
