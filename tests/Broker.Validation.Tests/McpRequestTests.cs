using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Validation.Tests;

/// <summary>Step-up challenges, routing headers that disagree with the body, and the protected resource metadata.</summary>
[Collection(BrokerTests.Name)]
public sealed class McpRequestTests(BrokerFixture fixture)
{
    private const string ResourceMetadata = "https://mcp.test/.well-known/oauth-protected-resource/mcp";

    private TestBroker Broker => fixture.Broker;

    [Theory]
    [InlineData("write_file", "files.write")]
    [InlineData("move_file", "files.read files.write")]
    public async Task CallTool_CapabilityMissing_403ChallengeNamesEveryCapabilityTheToolNeeds(string tool, string scope)
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        var token = await Broker.ExchangeAsync("files.read", taskId: "step-up");
        var arguments = new { to = "b.txt", from = "a.txt", path = "a.txt", content = "x" };

        // Act
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall(tool, arguments, id: 42), token);

        // Assert
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(
            $"Bearer resource_metadata=\"{ResourceMetadata}\", error=\"insufficient_scope\", error_description=\"The token lacks capabilities this operation needs.\", scope=\"{scope}\"",
            Rpc.Challenge(response));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(42, body.RootElement.GetProperty("id").GetInt32());
        Assert.Equal(-32600, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(0, server.ToolRuns.Count);

        var line = Assert.Single(server.Logs.WithEvent("McpToolCall"));
        Assert.Equal(tool, line.Fields["Tool"]);
        Assert.Equal("insufficient_scope", line.Fields["Outcome"]);
        Assert.Equal(new JsonWebToken(token).Id, line.Fields["GrantId"]);
        Assert.Equal("step-up", line.Fields["TaskId"]);
        var canonical = """{"content":"x","from":"a.txt","path":"a.txt","to":"b.txt"}""";
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))), line.Fields["ArgumentsSha256"]);
        McpToolCallTests.AssertNoTokenLogged(server, token);
    }

    [Fact]
    public async Task CallTool_AfterStepUp_Allowed()
    {
        // Arrange: the writer is refused with a read-only token, then steps up to what the challenge named.
        await using var server = await TestMcpServer.StartAsync(Broker);
        var readOnly = await Broker.ExchangeAsync("files.read", agent: "spiffe://dev.localhost/agents/writer");
        using var refused = await Rpc.SendAsync(server, Rpc.ToolCall("write_file", new { path = "a", content = "b" }), readOnly);
        var challenged = Rpc.Challenge(refused).Split("scope=\"")[1].TrimEnd('"');

        // Act
        await using var client = await server.ConnectAsync(await Broker.ExchangeAsync("files.read " + challenged, agent: "spiffe://dev.localhost/agents/writer"));
        var result = await client.CallToolAsync("write_file", new Dictionary<string, object?> { ["path"] = "a", ["content"] = "b" }, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.NotEqual(true, result.IsError);
        Assert.Equal(1, server.ToolRuns.Count);
    }

    public static TheoryData<string, string, string[]> DisagreeingHeaders => new()
    {
        { "Mcp-Name names another tool", Rpc.ToolCall("read_file"), ["Mcp-Name: write_file"] },
        { "Mcp-Name base64 of another tool", Rpc.ToolCall("read_file"), ["Mcp-Name: =?base64?d3JpdGVfZmlsZQ==?="] },
        { "Mcp-Name not valid base64", Rpc.ToolCall("read_file"), ["Mcp-Name: =?base64?***?="] },
        { "Mcp-Name twice", Rpc.ToolCall("read_file"), ["Mcp-Name: read_file", "Mcp-Name: write_file"] },
        { "Mcp-Name but the body names no tool", """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}""", ["Mcp-Name: read_file"] },
        { "Mcp-Method names another method", Rpc.ToolCall("read_file"), ["Mcp-Method: tools/list"] },
        { "Mcp-Method twice", Rpc.ToolCall("read_file"), ["Mcp-Method: tools/call", "Mcp-Method: tools/list"] },
        { "Mcp-Method but the body has no method", """{"jsonrpc":"2.0","id":1,"params":{"name":"read_file"}}""", ["Mcp-Method: tools/call"] },
        { "method twice in the body", """{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"write_file"}}""", [] },
        { "name twice in the body", """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","name":"write_file"}}""", [] },
        { "params twice in the body", """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file"},"params":{"name":"write_file"}}""", [] },
    };

    [Theory]
    [MemberData(nameof(DisagreeingHeaders))]
    public async Task RoutingHeaderOrBodyAmbiguous_400AndNothingRuns(string scenario, string body, string[] headerLines)
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        var token = await Broker.ExchangeAsync("files.read files.write", agent: "spiffe://dev.localhost/agents/writer");
        var headers = headerLines.Select(l => l.Split(": ", 2)).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Select(p => p[1]).ToArray());

        // Act
        using var response = await Rpc.SendAsync(server, body, token, headers);

        // Assert
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{scenario}: HTTP {(int)response.StatusCode}");
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("2.0", error.RootElement.GetProperty("jsonrpc").GetString());
        Assert.Equal(0, server.ToolRuns.Count);
        Assert.Empty(server.Logs.WithEvent("McpToolCall"));
    }

    [Fact]
    public async Task RoutingHeadersAgreeWithBody_ToolRuns()
    {
        // Arrange: the SDK's client sends Mcp-Method and Mcp-Name on every request of revision 2026-07-28.
        await using var server = await TestMcpServer.StartAsync(Broker);
        await using var client = await server.ConnectAsync(await Broker.ExchangeAsync("files.read"));

        // Act
        var result = await client.CallToolAsync("read_file", new Dictionary<string, object?> { ["path"] = "x" }, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.NotEqual(true, result.IsError);
        Assert.Equal(1, server.ToolRuns.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BodyLargerThanLimit_413(bool chunked)
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        var token = await Broker.ExchangeAsync("files.read");
        using var request = Rpc.Post(Rpc.ToolCall("read_file", new { path = new string('a', 1024 * 1024 + 1) }), token);
        if (chunked)
        {
            // No Content-Length: the limit is found while reading.
            var bytes = await request.Content!.ReadAsByteArrayAsync();
            request.Content = new StreamContent(new MemoryStream(bytes));
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            request.Headers.TransferEncodingChunked = true;
        }

        // Act
        using var client = server.CreateHttpClient();
        using var response = await client.SendAsync(request);

        // Assert
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(0, server.ToolRuns.Count);
    }

    [Theory]
    [InlineData("/.well-known/oauth-protected-resource/mcp")]
    [InlineData("/.well-known/oauth-protected-resource")]
    public async Task ProtectedResourceMetadata_ServedAnonymouslyAtBothWellKnownUris(string path)
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        using var client = server.CreateHttpClient();

        // Act
        using var response = await client.GetAsync(path);

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var metadata = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = metadata.RootElement;
        Assert.Equal(TestBroker.Resource, root.GetProperty("resource").GetString());
        Assert.Equal([Broker.Issuer], root.GetProperty("authorization_servers").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["files.read", "files.write"], root.GetProperty("scopes_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["header"], root.GetProperty("bearer_methods_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.True(root.GetProperty("tls_client_certificate_bound_access_tokens").GetBoolean());
    }

    [Fact]
    public async Task ProtectedResourceMetadata_ScopesSupportedConfigured_Kept()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker, o => o.ScopesSupported.Add("files.read"));
        using var client = server.CreateHttpClient();

        // Act
        using var metadata = JsonDocument.Parse(await client.GetStringAsync("/.well-known/oauth-protected-resource/mcp"));

        // Assert
        Assert.Equal(["files.read"], metadata.RootElement.GetProperty("scopes_supported").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task ResourceMetadataUriConfigured_ChallengeNamesIt()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker, o => o.ResourceMetadataUri = new Uri("https://meta.test/prm.json"));

        // Act
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"));

        // Assert
        Assert.Equal("Bearer resource_metadata=\"https://meta.test/prm.json\"", Rpc.Challenge(response));
    }
}
