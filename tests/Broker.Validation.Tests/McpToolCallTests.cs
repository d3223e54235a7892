using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using ModelContextProtocol.Protocol;

namespace Broker.Validation.Tests;

/// <summary>The happy paths, driven by the SDK's own MCP client with tokens from real exchanges.</summary>
[Collection(BrokerTests.Name)]
public sealed class McpToolCallTests(BrokerFixture fixture)
{
    private TestBroker Broker => fixture.Broker;

    [Fact]
    public async Task CallTool_TokenHasCapability_ToolRunsAndSeesCallerContext()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        var token = await Broker.ExchangeAsync("files.read", taskId: "recon-7", purpose: "triage");
        await using var client = await server.ConnectAsync(token);

        // Act
        var result = await client.CallToolAsync("whoami", cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.NotEqual(true, result.IsError);
        using var caller = JsonDocument.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        var root = caller.RootElement;
        Assert.Equal(new JsonWebToken(token).Id, root.GetProperty("grant_id").GetString());
        Assert.Equal("spiffe://dev.localhost/agents/reader", root.GetProperty("subject").GetString());
        Assert.Equal("spiffe://dev.localhost/agents/reader", root.GetProperty("client_id").GetString());
        Assert.Equal(TestBroker.Tenant, root.GetProperty("tenant").GetString());
        Assert.Equal("recon-7", root.GetProperty("task_id").GetString());
        Assert.Equal("triage", root.GetProperty("purpose").GetString());
        Assert.Equal(0, root.GetProperty("actors").GetArrayLength());
        Assert.Equal(["files.read"], root.GetProperty("capabilities").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(1, server.ToolRuns.Count);
    }

    [Fact]
    public async Task CallTool_DelegatedToken_ToolSeesActorChain()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        var token = await Broker.ExchangeAsync("files.read files.write", agent: "spiffe://dev.localhost/agents/writer", actor: "spiffe://dev.localhost/orchestrator");
        await using var client = await server.ConnectAsync(token);

        // Act
        var result = await client.CallToolAsync("whoami", cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        using var caller = JsonDocument.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        Assert.Equal("spiffe://dev.localhost/agents/writer", caller.RootElement.GetProperty("subject").GetString());
        Assert.Equal(["spiffe://dev.localhost/orchestrator"], caller.RootElement.GetProperty("actors").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["files.read", "files.write"], caller.RootElement.GetProperty("capabilities").EnumerateArray().Select(e => e.GetString()));
    }

    [Theory]
    [InlineData("files.read", "spiffe://dev.localhost/agents/reader", new[] { "list_files", "read_file", "whoami" })]
    [InlineData("files.read files.write", "spiffe://dev.localhost/agents/writer", new[] { "list_files", "move_file", "read_file", "whoami", "write_file" })]
    public async Task ListTools_ShowsOnlyToolsTheTokenCovers(string scope, string agent, string[] expected)
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        await using var client = await server.ConnectAsync(await Broker.ExchangeAsync(scope, agent: agent));

        // Act
        var tools = await client.ListToolsAsync(cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(expected, tools.Select(t => t.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task CallTool_WritesOneAuditLineWithArgumentHashAndNoToken()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        var token = await Broker.ExchangeAsync("files.read", taskId: "audit-1");
        await using var client = await server.ConnectAsync(token);
        // RFC 8785: members sorted, no whitespace; computed here independently of the library.
        var expectedHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("""{"path":"notes/ä b.txt"}""")));

        // Act
        await client.CallToolAsync("read_file", new Dictionary<string, object?> { ["path"] = "notes/ä b.txt" }, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        var line = Assert.Single(server.Logs.WithEvent("McpToolCall"));
        Assert.Equal(8100, line.EventId.Id);
        Assert.Equal("read_file", line.Fields["Tool"]);
        Assert.Equal("succeeded", line.Fields["Outcome"]);
        Assert.Equal(new JsonWebToken(token).Id, line.Fields["GrantId"]);
        Assert.Equal("spiffe://dev.localhost/agents/reader", line.Fields["Subject"]);
        Assert.Equal(TestBroker.Tenant, line.Fields["Tenant"]);
        Assert.Equal("service=spiffe://dev.localhost/agents/reader", line.Fields["Caller"]?.ToString());
        Assert.Equal("audit-1", line.Fields["TaskId"]);
        Assert.Equal(expectedHash, line.Fields["ArgumentsSha256"]);
        AssertNoTokenLogged(server, token);
    }

    internal static void AssertNoTokenLogged(TestMcpServer server, string token)
    {
        // Any segment long enough to be token material (payload, signature) must appear nowhere.
        foreach (var part in token.Split('.').Where(p => p.Length >= 16))
        {
            foreach (var entry in server.Logs.Entries)
            {
                Assert.DoesNotContain(part, entry.Message, StringComparison.Ordinal);
                Assert.DoesNotContain(entry.Fields.Values, v => v?.ToString()?.Contains(part, StringComparison.Ordinal) == true);
            }
        }
    }
}
