using System.Net;
using System.Text.Json;
using Broker.Validation.Tests.Infrastructure;
using ModelContextProtocol.Protocol;

namespace Broker.Validation.Tests;

/// <summary>
/// The context that caused a call (the token's <c>caller</c> claim, docs/policy.md "Approval paths"), as
/// <see cref="BrokerCaller.Context"/> shows it to a tool and the audit line tags it: from real exchanges for workloads,
/// and from tokens signed with the broker's key for the chains the dev broker cannot mint (a user's token as subject).
/// </summary>
[Collection(BrokerTests.Name)]
public sealed class CallerContextTests(BrokerFixture fixture)
{
    private TestBroker Broker => fixture.Broker;

    [Fact]
    public async Task RealExchange_WorkloadForItself_IsAnAutonomousService()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        var token = await Broker.ExchangeAsync("files.read");

        // Act
        var caller = await WhoAmIAsync(server, token);

        // Assert
        Assert.Equal("w", Claim(token));
        Assert.Equal("service=spiffe://dev.localhost/agents/reader", caller.GetProperty("context").GetString());
        Assert.True(caller.GetProperty("autonomous").GetBoolean());
        Assert.Equal(JsonValueKind.Null, caller.GetProperty("user").ValueKind);
    }

    [Fact]
    public async Task RealExchange_Delegated_NamesTheServiceAndTheAgentActingForIt()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        var token = await Broker.ExchangeAsync("files.read files.write", agent: "spiffe://dev.localhost/agents/writer", actor: "spiffe://dev.localhost/orchestrator");

        // Act
        var caller = await WhoAmIAsync(server, token);

        // Assert
        Assert.Equal("ww", Claim(token));
        Assert.Equal("service=spiffe://dev.localhost/agents/writer agent=spiffe://dev.localhost/orchestrator", caller.GetProperty("context").GetString());
        var line = Assert.Single(server.Logs.WithEvent("McpToolCall"));
        Assert.Equal("service=spiffe://dev.localhost/agents/writer agent=spiffe://dev.localhost/orchestrator", line.Fields["Caller"]?.ToString());
        Assert.Contains("caller service=spiffe://dev.localhost/agents/writer agent=spiffe://dev.localhost/orchestrator,", line.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hw", "user=alice@acme.test agent=spiffe://dev.localhost/agents/reader", false)]
    [InlineData("wh", "user=spiffe://dev.localhost/agents/reader service=alice@acme.test", false)]
    [InlineData("ww", "service=alice@acme.test agent=spiffe://dev.localhost/agents/reader", true)]
    public async Task SignedToken_Kinds_TagTheUserAgentOrService(string kinds, string context, bool autonomous)
    {
        // Arrange: a user's token as subject and an agent as actor (or the other way round, or two workloads).
        await using var server = await TestMcpServer.StartAsync(Broker);
        var token = Broker.Sign(c =>
        {
            c["sub"] = "alice@acme.test";
            c["act"] = new Dictionary<string, object> { ["sub"] = "spiffe://dev.localhost/agents/reader" };
            c["client_id"] = "spiffe://dev.localhost/agents/reader";
            c["caller"] = kinds;
        });

        // Act
        var caller = await WhoAmIAsync(server, token);

        // Assert
        Assert.Equal(context, caller.GetProperty("context").GetString());
        Assert.Equal(autonomous, caller.GetProperty("autonomous").GetBoolean());
        Assert.Equal(context, Assert.Single(server.Logs.WithEvent("McpToolCall")).Fields["Caller"]?.ToString());
    }

    [Fact]
    public async Task SignedToken_WithoutTheClaim_IsAcceptedWithUnknownContext()
    {
        // A token of a broker from before the claim existed.
        await using var server = await TestMcpServer.StartAsync(Broker);

        var caller = await WhoAmIAsync(server, Broker.Sign());

        Assert.Equal("unknown", caller.GetProperty("context").GetString());
        Assert.False(caller.GetProperty("autonomous").GetBoolean());
    }

    public static TheoryData<string, object> MalformedClaims => new()
    {
        { "a letter that is no kind", "x" },
        { "upper case", "W" },
        { "empty", "" },
        { "one letter too many for the chain", "ww" },
        { "not a string", 1 },
        { "null", null! },
    };

    [Theory]
    [MemberData(nameof(MalformedClaims))]
    public async Task SignedToken_MalformedClaim_IsRefused(string description, object value)
    {
        // Arrange
        Assert.NotNull(description);
        await using var server = await TestMcpServer.StartAsync(Broker);
        var token = Broker.Sign(c => c["caller"] = value);

        // Act
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("whoami"), token);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(0, server.ToolRuns.Count);
    }

    private static async Task<JsonElement> WhoAmIAsync(TestMcpServer server, string token)
    {
        await using var client = await server.ConnectAsync(token);
        var result = await client.CallToolAsync("whoami", cancellationToken: TestContext.Current.CancellationToken);
        Assert.NotEqual(true, result.IsError);
        using var document = JsonDocument.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        return document.RootElement.Clone();
    }

    private static string? Claim(string token) =>
        new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(token).TryGetPayloadValue<string>("caller", out var value) ? value : null;
}
