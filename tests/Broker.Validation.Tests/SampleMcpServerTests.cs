using System.Net;
using System.Reflection;
using System.Text.Json;
using Broker.Testing;
using Broker.Validation.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Broker.Validation.Tests;

/// <summary>
/// samples/README.md for real: <c>Broker.dll --dev</c> with the dev policy and the sample MCP server in its dev
/// configuration, each its own process; tokens from the dev identity source and real exchanges.
/// </summary>
public sealed class SampleMcpServerTests : IAsyncLifetime
{
    private const string Resource = "https://mcp.dev.localhost/mcp";
    private readonly int _brokerPort = FreePorts.Next();
    private readonly int _samplePort = FreePorts.Next();
    private TestProcess _broker = null!;
    private TestProcess _sample = null!;

    private Uri BrokerUrl => new($"http://127.0.0.1:{_brokerPort}");

    private Uri Endpoint => new($"http://127.0.0.1:{_samplePort}/mcp");

    public async ValueTask InitializeAsync()
    {
        _broker = new TestProcess(Path.Combine(AppContext.BaseDirectory, "Broker.dll"), Path.GetTempPath(), "--dev", $"--Broker:Dev:Port={_brokerPort}");
        await _broker.WaitUntilReadyAsync(new Uri(BrokerUrl, "/readyz"));

        var sampleDirectory = typeof(SampleMcpServerTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SampleMcpServerDirectory").Value!;
        _sample = new TestProcess(Path.Combine(sampleDirectory, "McpServer.dll"), sampleDirectory,
            "--environment", "Development", $"--Urls=http://127.0.0.1:{_samplePort}", $"--Broker:Broker={BrokerUrl.GetLeftPart(UriPartial.Authority)}");
        // Healthy once its revocation feed is connected: tokens minted from then on are not "issued before the gap".
        await _sample.WaitUntilReadyAsync(new Uri($"http://127.0.0.1:{_samplePort}/healthz"));
    }

    public async ValueTask DisposeAsync()
    {
        await _sample.DisposeAsync();
        await _broker.DisposeAsync();
    }

    [Fact]
    public async Task DevReader_ListsAndReads_IsChallengedToWrite()
    {
        // Arrange
        var token = await ExchangeAsync("spiffe://dev.localhost/agents/demo", "files.read", "triage");
        await using var client = await ConnectAsync(token);

        // Act
        var tools = await client.ListToolsAsync(cancellationToken: TestContext.Current.CancellationToken);
        var read = await client.CallToolAsync("read_file", new Dictionary<string, object?> { ["path"] = "notes.txt" }, cancellationToken: TestContext.Current.CancellationToken);
        using var http = new HttpClient();
        using var write = await http.SendAsync(WithBase(Rpc.Post(Rpc.ToolCall("write_file", new { path = "a.txt", content = "x" }), token)));

        // Assert
        Assert.Equal(["list_files", "read_file"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Equal("Capabilities are granted per task.", Assert.IsType<TextContentBlock>(Assert.Single(read.Content)).Text);
        Assert.Equal(HttpStatusCode.Forbidden, write.StatusCode);
        Assert.Equal(
            "Bearer resource_metadata=\"https://mcp.dev.localhost/.well-known/oauth-protected-resource/mcp\", error=\"insufficient_scope\", error_description=\"The token lacks capabilities this operation needs.\", scope=\"files.write\"",
            Rpc.Challenge(write));
        Assert.Contains("mcp-audit: tool read_file succeeded", _sample.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[2], _sample.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DevWriter_WritesForCodeChange()
    {
        // Arrange
        await using var client = await ConnectAsync(await ExchangeAsync("spiffe://dev.localhost/agents/writer", "files.read files.write", "code-change"));

        // Act
        var written = await client.CallToolAsync("write_file", new Dictionary<string, object?> { ["path"] = "plan.md", ["content"] = "ship it" }, cancellationToken: TestContext.Current.CancellationToken);
        var read = await client.CallToolAsync("read_file", new Dictionary<string, object?> { ["path"] = "plan.md" }, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.NotEqual(true, written.IsError);
        Assert.Equal("ship it", Assert.IsType<TextContentBlock>(Assert.Single(read.Content)).Text);
    }

    private HttpRequestMessage WithBase(HttpRequestMessage request)
    {
        request.RequestUri = Endpoint;
        return request;
    }

    [Fact]
    public async Task Sample_PublishesItsToolsToTheDevBrokersCatalogAtStart()
    {
        // Arrange: the dev admin (a global admin placed in tenant dev) reads the publication.
        using var http = new HttpClient { BaseAddress = BrokerUrl };
        using var svidResponse = await http.PostAsync("/dev/svid?spiffe_id=" + Uri.EscapeDataString("spiffe://dev.localhost/admin"), null);
        var admin = (await svidResponse.Content.ReadAsStringAsync()).Trim();

        // Act: publishing runs in the background once the sample started; wait for it (no timing is asserted).
        JsonElement publication = default;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (!deadline.IsCancellationRequested)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/catalog/v1/resources?resource=" + Uri.EscapeDataString(Resource));
            request.Headers.Authorization = new("Bearer", admin);
            using var response = await http.SendAsync(request, CancellationToken.None);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                publication = JsonDocument.Parse(await response.Content.ReadAsStringAsync(CancellationToken.None)).RootElement.Clone();
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None);
        }

        // Assert: every tool of the sample, each under its capability, by the sample's own identity.
        Assert.Equal(JsonValueKind.Object, publication.ValueKind);
        Assert.Equal("spiffe://dev.localhost/mcp-servers/files", publication.GetProperty("published_by").GetString());
        Assert.Equal(
            ["files.read/list_files", "files.read/read_file", "files.write/write_file"],
            publication.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("capability").GetString() + "/" + t.GetProperty("name").GetString()));
        // The sample logs its success once the broker's answer is read, which may come after the publication is visible.
        await _sample.WaitForLineAsync(line => line.Contains("catalog: the tools of https://mcp.dev.localhost/mcp are published", StringComparison.Ordinal));
    }

    private async Task<McpClient> ConnectAsync(string token) =>
        await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = Endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + token },
        }));

    private async Task<string> ExchangeAsync(string spiffeId, string scope, string purpose)
    {
        using var http = new HttpClient { BaseAddress = BrokerUrl };
        using var svidResponse = await http.PostAsync($"/dev/svid?spiffe_id={Uri.EscapeDataString(spiffeId)}", null);
        var svid = (await svidResponse.Content.ReadAsStringAsync()).Trim();
        using var response = await http.PostAsync("/oauth2/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
            ["subject_token_type"] = "urn:ietf:params:oauth:token-type:jwt",
            ["subject_token"] = svid,
            ["resource"] = Resource,
            ["scope"] = scope,
            ["task_id"] = "sample-1",
            ["purpose"] = purpose,
        }));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("access_token").GetString()!;
    }
}
