using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Validation.Mcp.Internal;
using Broker.Validation.Revocation;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Validation.Tests;

/// <summary>
/// Broker.Validation.Mcp and the real broker's catalog, in a tenant that requires publication: the MCP server publishes
/// its tools at start (so tokens can be issued), lists <c>tools/list</c> by what each caller may discover, and, when its
/// tools are unpublished, learns it over the revocation feed and refuses the capability's tokens.
/// </summary>
public sealed class CatalogEndToEndTests : IAsyncLifetime
{
    private const string McpServerIdentity = "spiffe://dev.localhost/mcp-servers/files";

    /// <summary>Publication required; agents discover and execute files.read and discover files.write; the server publishes.</summary>
    private const string Policy = $$"""
        tenant: {{TestBroker.Tenant}}
        max_lifetime: 15m
        publishing: required
        trust:
          spiffe:
            - trust_domain: dev.localhost
              bundle: dev
        capabilities:
          - name: files.read
            resource: {{TestBroker.Resource}}
            tools: [read_file, list_files, whoami, move_file]
          - name: files.write
            resource: {{TestBroker.Resource}}
            tools: [write_file, move_file]
        rules:
          - name: agents read
            subjects: ["spiffe://dev.localhost/agents/*"]
            capabilities: [files.read]
            permissions: [discover, execute]
          - name: agents see that writing exists
            subjects: ["spiffe://dev.localhost/agents/*"]
            capabilities: [files.write]
            permissions: [discover]
          - name: the server publishes
            subjects: ["{{McpServerIdentity}}"]
            capabilities: [files.read, files.write]
            permissions: [publish]
        """;

    private TestBroker _broker = null!;
    private TestMcpServer _server = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _broker = await TestBroker.StartAsync(policy: Policy);
        _server = await TestMcpServer.StartAsync(
            _broker,
            services: s => s.AddBrokerRevocationFeed(o =>
            {
                o.Credential = async _ => await _broker.SvidAsync(McpServerIdentity);
                o.RefuseTokensIssuedBeforeGap = false;
            }),
            mcp: m => m.PublishToBrokerCatalog(o =>
            {
                o.Credential = async _ => await _broker.SvidAsync(McpServerIdentity);
                o.ListDiscoverableTools = true;
            }));
        var publisher = _server.Services.GetRequiredService<BrokerCatalogPublisher>();
        var feed = _server.Services.GetRequiredService<RevocationFeedClient>();
        await EventuallyAsync(() => publisher.Published && feed.IsFresh, "the server to publish and follow the feed");
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        await _broker.DisposeAsync();
    }

    [Fact]
    public async Task PublishedAtStart_EveryToolUnderEachCapabilityItNeeds()
    {
        // Act: the publication as the broker holds it.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/catalog/v1/resources?resource=" + Uri.EscapeDataString(TestBroker.Resource));
        request.Headers.Authorization = new("Bearer", await _broker.SvidAsync(McpServerIdentity));
        using var response = await _broker.Client.SendAsync(request, Ct);
        var publication = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

        // Assert: move_file needs both capabilities, so it is published under both; the schema hash is RFC 8785's.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(McpServerIdentity, publication.GetProperty("published_by").GetString());
        var tools = publication.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("capability").GetString() + "/" + t.GetProperty("name").GetString()).ToList();
        Assert.Equal(["files.read/list_files", "files.read/move_file", "files.write/move_file", "files.read/read_file", "files.read/whoami", "files.write/write_file"], tools);
        Assert.All(publication.GetProperty("tools").EnumerateArray(), t => Assert.Matches("^[0-9a-f]{64}$", t.GetProperty("input_schema_sha256").GetString()));
    }

    [Fact]
    public async Task ToolsList_ShowsDiscoverableButUncoveredTools_MarkedNotExecutable()
    {
        // Arrange: a reader's token for files.read (issued because the server published it).
        var token = await _broker.ExchangeAsync("files.read");
        await using var client = await _server.ConnectAsync(token);

        // Act
        var tools = await client.ListToolsAsync(cancellationToken: Ct);

        // Assert: every tool is discoverable; the files.write ones are listed with what to ask for (MCP step-up).
        Assert.Equal(["list_files", "move_file", "read_file", "whoami", "write_file"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        var write = tools.Single(t => t.Name == "write_file").ProtocolTool.Meta![BrokerMcpFilterSetup.AccessMetaKey]!;
        Assert.False(write["executable"]!.GetValue<bool>());
        Assert.Equal(["files.write"], write["required_scopes"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.False(write["obtainable"]!.GetValue<bool>());
        Assert.Equal(["files.read", "files.write"], tools.Single(t => t.Name == "move_file").ProtocolTool.Meta![BrokerMcpFilterSetup.AccessMetaKey]!["required_scopes"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Null(tools.Single(t => t.Name == "read_file").ProtocolTool.Meta?[BrokerMcpFilterSetup.AccessMetaKey]);

        // Assert: calling one is the usual step-up challenge naming the same scope.
        using var call = await Rpc.SendAsync(_server, Rpc.ToolCall("write_file", new { path = "a", content = "b" }), token);
        Assert.Equal(HttpStatusCode.Forbidden, call.StatusCode);
        Assert.Contains("scope=\"files.write\"", Rpc.Challenge(call), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unpublished_FeedEventReachesTheServer_WhichRefusesTheCapabilitysTokens()
    {
        // Arrange: a token that works.
        var token = await _broker.ExchangeAsync("files.read", taskId: "catalog-e2e");
        using (var before = await Rpc.SendAsync(_server, Rpc.ToolCall("read_file", new { path = "a" }), token))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // Act: the server's operator unpublishes the resource at the broker.
        using var delete = new HttpRequestMessage(HttpMethod.Delete, "/catalog/v1/resources?resource=" + Uri.EscapeDataString(TestBroker.Resource));
        delete.Headers.Authorization = new("Bearer", await _broker.SvidAsync(McpServerIdentity));
        using var deleted = await _broker.Client.SendAsync(delete, Ct);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        var set = _server.Services.GetRequiredService<RevokedGrantSet>();
        await EventuallyAsync(() => set.RefusesCapabilities(["files.read"], DateTimeOffset.UtcNow.AddSeconds(-1)), "the withdrawal to arrive over the feed");
        using var after = await Rpc.SendAsync(_server, Rpc.ToolCall("read_file", new { path = "a" }), token);

        // Assert: the token is refused as revoked, and the broker issues no new one.
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains("error_description=\"The token's grant has been revoked.\"", Rpc.Challenge(after), StringComparison.Ordinal);
        using var exchange = await _broker.Client.PostAsync("/oauth2/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
            ["subject_token_type"] = "urn:ietf:params:oauth:token-type:jwt",
            ["subject_token"] = await _broker.SvidAsync("spiffe://dev.localhost/agents/reader"),
            ["resource"] = TestBroker.Resource,
            ["scope"] = "files.read",
            ["task_id"] = "t",
            ["purpose"] = "tests",
        }), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, exchange.StatusCode);
        Assert.Contains("published", await exchange.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    private static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (deadline.IsCancellationRequested)
            {
                Assert.Fail("Timed out waiting for " + what + ".");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), CancellationToken.None);
        }
    }
}
