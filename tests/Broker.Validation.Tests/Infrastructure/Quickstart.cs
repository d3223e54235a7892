using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Broker.Testing;

namespace Broker.Validation.Tests.Infrastructure;

/// <summary>
/// The quickstart as processes: <c>Broker.dll --dev</c> (samples/dev/policy/dev.yaml) and samples/McpServer in its
/// Development profile, following the broker's revocation feed; samples/Agent is run against them per test.
/// </summary>
public class Quickstart : IAsyncLifetime
{
    private readonly int _brokerPort = FreePorts.Next();
    private readonly int _mcpPort = FreePorts.Next();
    private TestProcess _broker = null!;
    private TestProcess _mcpServer = null!;

    public Uri BrokerUrl => new($"http://127.0.0.1:{_brokerPort}");

    public Uri McpEndpoint => new($"http://127.0.0.1:{_mcpPort}/mcp");

    /// <summary>What the MCP server logged so far (one <c>mcp-audit:</c> line per tool call).</summary>
    public string McpServerOutput => _mcpServer.Output;

    public static string SampleDirectory(string key) =>
        typeof(Quickstart).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    public async ValueTask InitializeAsync()
    {
        string[] brokerArguments = ["--dev", $"--Broker:Dev:Port={_brokerPort}", .. await PrepareAsync()];
        _broker = new TestProcess(Path.Combine(AppContext.BaseDirectory, "Broker.dll"), Path.GetTempPath(), brokerArguments);
        await _broker.WaitUntilReadyAsync(new Uri(BrokerUrl, "/readyz"));

        var mcpDirectory = SampleDirectory("SampleMcpServerDirectory");
        _mcpServer = new TestProcess(Path.Combine(mcpDirectory, "McpServer.dll"), mcpDirectory,
            "--environment", "Development", $"--Urls=http://127.0.0.1:{_mcpPort}", $"--Broker:Broker={BrokerUrl.GetLeftPart(UriPartial.Authority)}");

        // Healthy once its revocation feed is connected, so revocations from now on reach it.
        await _mcpServer.WaitUntilReadyAsync(new Uri($"http://127.0.0.1:{_mcpPort}/healthz"));
    }

    public async ValueTask DisposeAsync()
    {
        await DisposeAsyncCore();
        GC.SuppressFinalize(this);
    }

    protected virtual async ValueTask DisposeAsyncCore()
    {
        await _mcpServer.DisposeAsync();
        await _broker.DisposeAsync();
    }

    /// <summary>Runs before the broker starts; returns more arguments for it (another policy directory, say).</summary>
    protected virtual Task<string[]> PrepareAsync() => Task.FromResult<string[]>([]);

    /// <summary>
    /// Starts <c>dotnet Agent.dll</c> (the built sample, not <c>dotnet run</c>) against this stack, unless
    /// <paramref name="arguments"/> name another <c>--broker</c> or <c>--mcp</c>. No Workload API unless
    /// <paramref name="environment"/> names one.
    /// </summary>
    public TestProcess StartAgent(IReadOnlyDictionary<string, string?>? environment, params string[] arguments)
    {
        var directory = SampleDirectory("SampleAgentDirectory");
        var variables = new Dictionary<string, string?> { ["SPIFFE_ENDPOINT_SOCKET"] = null };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            variables[name] = value;
        }

        string[] defaults = [
            .. arguments.Contains("--broker") ? [] : new[] { "--broker", BrokerUrl.ToString() },
            .. arguments.Contains("--mcp") ? [] : new[] { "--mcp", McpEndpoint.ToString() }];
        return new TestProcess(Path.Combine(directory, "Agent.dll"), directory, variables, [.. defaults, .. arguments]);
    }

    /// <summary>Runs the agent to its end: exit code, stdout, stderr.</summary>
    public async Task<(int ExitCode, string Output, string Error)> RunAgentAsync(params string[] arguments) =>
        await RunAgentAsync(null, arguments);

    public async Task<(int ExitCode, string Output, string Error)> RunAgentAsync(IReadOnlyDictionary<string, string?>? environment, params string[] arguments)
    {
        await using var agent = StartAgent(environment, arguments);
        var exitCode = await agent.WaitForExitAsync(TimeSpan.FromSeconds(120));
        return (exitCode, agent.StandardOutput, agent.StandardError);
    }

    /// <summary>The grant as the admin API shows it (<c>GET /admin/v1/grants/{id}</c>), as the dev admin.</summary>
    public async Task<JsonElement> GrantAsync(string grantId)
    {
        using var client = await AdminClientAsync();
        using var response = await client.GetAsync($"/admin/v1/grants/{Uri.EscapeDataString(grantId)}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET grant {grantId}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Revokes the grant as an admin would (<c>brokerctl grants revoke ID</c>).</summary>
    public async Task RevokeAsync(string grantId, string reason)
    {
        using var client = await AdminClientAsync();
        using var response = await client.PostAsync(
            $"/admin/v1/grants/{Uri.EscapeDataString(grantId)}/revoke",
            new StringContent(JsonSerializer.Serialize(new { reason }), Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"revoke {grantId}: {(int)response.StatusCode} {body}");
    }

    /// <summary><c>--dev</c> makes <c>spiffe://dev.localhost/admin</c> a global admin; its SVID comes from the dev identity source.</summary>
    private async Task<HttpClient> AdminClientAsync()
    {
        var client = new HttpClient { BaseAddress = BrokerUrl };
        using var svid = await client.PostAsync("/dev/svid?spiffe_id=" + Uri.EscapeDataString("spiffe://dev.localhost/admin"), null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await svid.Content.ReadAsStringAsync()).Trim());
        return client;
    }
}
