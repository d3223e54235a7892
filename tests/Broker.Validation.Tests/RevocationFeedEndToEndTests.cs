using System.Net;
using Broker.Validation.Revocation;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Validation.Tests;

/// <summary>
/// The feed client against the real broker's feed (not the stand-in): a grant revoked at the broker reaches the
/// MCP server's revoked set over <c>/revocations/v1/events</c>, and the token is refused from then on.
/// </summary>
[Collection(BrokerTests.Name)]
public sealed class RevocationFeedEndToEndTests(BrokerFixture fixture)
{
    private const string McpServerIdentity = "spiffe://dev.localhost/agents/mcp-server";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private TestBroker Broker => fixture.Broker;

    [Fact]
    public async Task HolderRevokesAtTheBroker_McpServerRefusesThatTokenOnly()
    {
        // Arrange: the MCP server subscribes with its own workload credential (a JWT-SVID of the tenant).
        await using var server = await TestMcpServer.StartAsync(Broker, services: s => s.AddBrokerRevocationFeed(o =>
        {
            o.Credential = async _ => await Broker.SvidAsync(McpServerIdentity);

            // Tokens here are minted after the feed connected, but iat is whole seconds: within the connecting
            // second they would count as "issued before the gap". That rule has its own tests.
            o.RefuseTokensIssuedBeforeGap = false;
        }));
        var feed = server.Services.GetRequiredService<RevocationFeedClient>();
        await EventuallyAsync(() => feed.IsFresh, "the feed to connect to the broker");
        var revoked = await Broker.ExchangeAsync("files.read", taskId: "feed-e2e-revoked");
        var kept = await Broker.ExchangeAsync("files.read", taskId: "feed-e2e-kept");
        using (var before = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), revoked))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // Act: the holder revokes its token at the broker (RFC 7009).
        using var revocation = await Broker.Client.PostAsync(
            "/oauth2/revoke",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = revoked }),
            Ct);
        var grantId = new JsonWebToken(revoked).Id;
        var set = server.Services.GetRequiredService<RevokedGrantSet>();
        await EventuallyAsync(() => set.Contains(grantId), "the revocation to arrive over the feed");
        using var after = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), revoked);
        using var other = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), kept);

        // Assert
        Assert.Equal(HttpStatusCode.OK, revocation.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains("error_description=\"The token's grant has been revoked.\"", Rpc.Challenge(after), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    /// <summary>Waits for <paramref name="condition"/> with a generous deadline; never asserts on elapsed time.</summary>
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
