using System.Net;
using Broker.Validation.Revocation;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Validation.Tests;

/// <summary>
/// The status list client against the real broker (not the stand-in): it discovers the tenant's list in the broker's
/// metadata, verifies it against the broker's JWKS, and a token revoked at the broker is refused after the next poll.
/// </summary>
[Collection(BrokerTests.Name)]
public sealed class StatusListEndToEndTests(BrokerFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private TestBroker Broker => fixture.Broker;

    [Fact]
    public async Task HolderRevokesAtTheBroker_McpServerPollingTheListRefusesThatTokenOnly()
    {
        // Arrange: no credential: the list is public.
        await using var server = await TestMcpServer.StartAsync(Broker, services: s => s.AddBrokerStatusList(o => o.MaxPollInterval = TimeSpan.FromSeconds(1)));
        var check = server.Services.GetRequiredService<StatusListRevocationCheck>();
        await EventuallyAsync(() => check.CurrentAsOf is not null, "the first list");
        var revoked = await Broker.ExchangeAsync("files.read", taskId: "list-e2e-revoked");
        var kept = await Broker.ExchangeAsync("files.read", taskId: "list-e2e-kept");
        using (var before = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), revoked))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // Act: the holder revokes its token at the broker (RFC 7009).
        using var revocation = await Broker.Client.PostAsync(
            "/oauth2/revoke",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = revoked }),
            Ct);
        var refused = false;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            deadline.CancelAfter(TimeSpan.FromSeconds(30));
            while (!refused && !deadline.IsCancellationRequested)
            {
                using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), revoked);
                refused = response.StatusCode == HttpStatusCode.Unauthorized
                    && Rpc.Challenge(response).Contains("error_description=\"The token's grant has been revoked.\"", StringComparison.Ordinal);
                await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None);
            }
        }

        using var other = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), kept);

        // Assert
        Assert.Equal(HttpStatusCode.OK, revocation.StatusCode);
        Assert.True(refused);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(Broker.Issuer + "/statuslists/v1/" + TestBroker.Tenant, check.ListUri);
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

            await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None);
        }
    }
}
