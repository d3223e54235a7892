using System.Net;
using Broker.Validation.Revocation;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Validation.Tests;

/// <summary>Revoked grants, a stale revocation source, and expiry, against the MCP server's own clock.</summary>
[Collection(BrokerTests.Name)]
public sealed class RevocationTests(BrokerFixture fixture)
{
    private TestBroker Broker => fixture.Broker;

    [Fact]
    public async Task GrantInRevokedSet_401WhileOtherGrantsWork()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        var revoked = await Broker.ExchangeAsync("files.read", taskId: "revoked");
        var other = await Broker.ExchangeAsync("files.read", taskId: "kept");
        var parsed = new JsonWebToken(revoked);
        server.Services.GetRequiredService<RevokedGrantSet>().Add(parsed.Id, new DateTimeOffset(parsed.ValidTo, TimeSpan.Zero).AddSeconds(30));

        // Act
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), revoked);
        await using var client = await server.ConnectAsync(other);
        var result = await client.CallToolAsync("read_file", new Dictionary<string, object?> { ["path"] = "x" }, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error_description=\"The token's grant has been revoked.\"", Rpc.Challenge(response), StringComparison.Ordinal);
        Assert.NotEqual(true, result.IsError);
        Assert.Equal(1, server.ToolRuns.Count);
        Assert.Contains(server.Logs.WithEvent("BrokerRevokedGrantPresented"), e => Equals(e.Fields["GrantId"], parsed.Id));
    }

    [Fact]
    public async Task RevocationSourceStale_FailsClosedUntilCurrentAgain()
    {
        // Arrange
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await TestMcpServer.StartAsync(Broker, o => o.Revocation.MaxStaleness = TimeSpan.FromMinutes(1), s => s.AddSingleton<TimeProvider>(clock));
        var token = await Broker.ExchangeAsync("files.read");
        var set = server.Services.GetRequiredService<RevokedGrantSet>();

        // Act + Assert: never current → refused.
        using (var neverCurrent = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), token))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, neverCurrent.StatusCode);
            Assert.Contains("error_description=\"The token's revocation status is not known.\"", Rpc.Challenge(neverCurrent), StringComparison.Ordinal);
        }

        // The feed reports in → accepted.
        set.MarkCurrent(clock.GetUtcNow());
        await using (var client = await server.ConnectAsync(token))
        {
            var result = await client.CallToolAsync("read_file", new Dictionary<string, object?> { ["path"] = "x" }, cancellationToken: TestContext.Current.CancellationToken);
            Assert.NotEqual(true, result.IsError);
        }

        // The feed falls silent for longer than allowed → refused again.
        clock.Advance(TimeSpan.FromSeconds(61));
        using (var stale = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), token))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        }

        Assert.Equal(1, server.ToolRuns.Count);
    }

    [Fact]
    public async Task RevocationSourceStale_AllowWhenStale_AcceptedAndLogged()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker, o =>
        {
            o.Revocation.MaxStaleness = TimeSpan.FromMinutes(1);
            o.Revocation.AllowWhenStale = true;
        });
        await using var client = await server.ConnectAsync(await Broker.ExchangeAsync("files.read"));

        // Act
        var result = await client.CallToolAsync("read_file", new Dictionary<string, object?> { ["path"] = "x" }, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.NotEqual(true, result.IsError);
        Assert.Contains(server.Logs.WithEvent("BrokerRevocationStale"), e => Equals(e.Fields["Decision"], "accepted"));
    }

    [Fact]
    public async Task RealToken_PastExpiryOnServerClock_401Expired()
    {
        // Arrange
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await TestMcpServer.StartAsync(Broker, services: s => s.AddSingleton<TimeProvider>(clock));
        var token = await Broker.ExchangeAsync("files.read");
        var expires = new DateTimeOffset(new JsonWebToken(token).ValidTo, TimeSpan.Zero);

        // Act: within the skew it still holds; past it, it does not.
        clock.SetUtcNow(expires.AddSeconds(29));
        await using var client = await server.ConnectAsync(token);
        var withinSkew = await client.CallToolAsync("read_file", new Dictionary<string, object?> { ["path"] = "x" }, cancellationToken: TestContext.Current.CancellationToken);
        clock.SetUtcNow(expires.AddSeconds(31));
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), token);

        // Assert
        Assert.NotEqual(true, withinSkew.IsError);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error_description=\"The token has expired.\"", Rpc.Challenge(response), StringComparison.Ordinal);
    }
}
