using System.Net;
using Broker.Validation.Revocation;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Validation.Tests;

/// <summary>
/// The revocation feed client against a stand-in broker that speaks the feed protocol on real Kestrel: revocations
/// reach the real JwtBearer pipeline, resumption, reset, heartbeats and staleness, refused credentials, bounded input,
/// and the endpoint's origin. Written so a real broker can take the stand-in's place.
/// </summary>
public sealed class RevocationFeedTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RevokedEvent_NextRequestWithThatToken401_OtherGrantsWork()
    {
        // Arrange
        await using var broker = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        await using var server = await StartAsync(broker);
        var feed = server.Services.GetRequiredService<RevocationFeedClient>();
        await Eventually(() => feed.IsFresh, "the feed to connect", server);
        var revoked = broker.Sign(key, kid);
        var kept = broker.Sign(key, kid);
        using (var before = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), revoked))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // Act
        var grant = new JsonWebToken(revoked);
        broker.Feed.Revoke(grant.Id, new DateTimeOffset(grant.ValidTo, TimeSpan.Zero).ToUnixTimeSeconds());
        var set = server.Services.GetRequiredService<RevokedGrantSet>();
        await Eventually(() => set.Contains(grant.Id), "the revocation to arrive");
        using var after = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), revoked);
        using var other = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), kept);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains("error_description=\"The token's grant has been revoked.\"", Rpc.Challenge(after), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal([null], broker.Feed.LastEventIds);
        Assert.Single(server.Logs.WithEvent("BrokerRevocationFeedConnected"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TokenIssuedBeforeFirstConnection_RefusedUnlessTurnedOff(bool refuse)
    {
        // Arrange: the feed replays no history to a new client, so a grant revoked earlier cannot be known.
        await using var broker = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        await using var server = await StartAsync(broker, feed: o => o.RefuseTokensIssuedBeforeGap = refuse);
        var feed = server.Services.GetRequiredService<RevocationFeedClient>();
        await Eventually(() => feed.IsFresh, "the feed to connect", server);
        var older = broker.Sign(key, kid, issuedAt: DateTimeOffset.UtcNow.AddMinutes(-2));

        // Act
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), older);

        // Assert
        Assert.Equal(refuse ? HttpStatusCode.Unauthorized : HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ConnectionDrops_ResumesWithLastEventId_NothingAppliedTwice()
    {
        // Arrange
        await using var broker = await StandInBroker.StartAsync();
        broker.NewKey();
        await using var server = await StartAsync(broker);
        var feed = server.Services.GetRequiredService<RevocationFeedClient>();
        var set = server.Services.GetRequiredService<RevokedGrantSet>();
        await Eventually(() => feed.IsFresh, "the feed to connect", server);
        var exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        var first = broker.Feed.Revoke("grant-a", exp);
        await Eventually(() => feed.LastEventId == first, "the first event");

        // Act: the stream drops, and a revocation happens while the broker refuses connections.
        broker.Feed.FailWith = 503;
        broker.Feed.DropConnections();
        await Eventually(() => !feed.Connected, "the drop");
        var second = broker.Feed.Revoke("grant-b", exp);
        await Eventually(() => broker.Feed.Requests >= 2, "a refused attempt");
        broker.Feed.FailWith = null;
        await Eventually(() => feed.LastEventId == second, "the missed event to be replayed");

        // A clean close (the broker rebalancing) resumes from the replayed position.
        broker.Feed.DropConnections();
        await Eventually(() => broker.Feed.LastEventIds.Count == 3 && feed.IsFresh, "the second resumption");

        // Assert
        Assert.Equal([null, first, second], broker.Feed.LastEventIds);
        Assert.True(set.Contains("grant-a") && set.Contains("grant-b"));
        var applied = server.Logs.WithEvent("BrokerRevocationApplied").Select(e => (string)e.Fields["GrantId"]!).Order().ToList();
        Assert.Equal(["grant-a", "grant-b"], applied);
    }

    [Fact]
    public async Task Reset_TokensIssuedBeforeSinceRefused_RetainedEntriesApplied()
    {
        // Arrange
        await using var broker = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        await using var server = await StartAsync(broker);
        var feed = server.Services.GetRequiredService<RevocationFeedClient>();
        var check = server.Services.GetRequiredService<IRevocationCheck>();
        await Eventually(() => feed.IsFresh, "the feed to connect", server);
        var token = broker.Sign(key, kid);
        var exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        var first = broker.Feed.Revoke("grant-a", exp);
        await Eventually(() => feed.LastEventId == first, "the first event");
        using (var before = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), token))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // Act: while the client is away, the broker loses the history after its position.
        var since = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds());
        broker.Feed.FailWith = 503;
        broker.Feed.DropConnections();
        await Eventually(() => !feed.Connected, "the drop");
        broker.Feed.Revoke("grant-b", exp);
        broker.Feed.ForgetHistory(since);
        broker.Feed.Revoke("grant-c", exp);
        broker.Feed.FailWith = null;
        var set = server.Services.GetRequiredService<RevokedGrantSet>();
        await Eventually(() => set.Contains("grant-c"), "the reset and the retained entry");
        using var after = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), token);

        // Assert
        Assert.Equal(first, broker.Feed.LastEventIds[^1]);
        Assert.Single(server.Logs.WithEvent("BrokerRevocationFeedReset"));
        Assert.False(set.Contains("grant-b"));
        Assert.True((await check.CheckAsync("grant-x", since.AddSeconds(-1), Ct)).Revoked);
        Assert.False((await check.CheckAsync("grant-x", since, Ct)).Revoked);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains("error_description=\"The token's grant has been revoked.\"", Rpc.Challenge(after), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UntilTheBrokerSaysReady_TheSetIsNotCurrent_TokensRefusedWhenStalenessIsBounded()
    {
        // Arrange: a stream that opens (and heartbeats) but never finishes sending its history.
        await using var broker = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        broker.Feed.SendReady = false;
        await using var server = await StartAsync(broker, o => o.Revocation.MaxStaleness = TimeSpan.FromSeconds(30));
        var feed = server.Services.GetRequiredService<RevocationFeedClient>();
        var set = server.Services.GetRequiredService<RevokedGrantSet>();
        await Eventually(() => feed.Connected, "the feed to connect", server);
        broker.Feed.Heartbeat();
        await Eventually(() => feed.LastHeard is not null, "the heartbeat");
        var token = broker.Sign(key, kid, issuedAt: DateTimeOffset.UtcNow.AddSeconds(5));

        // Act
        using var catchingUp = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), token);
        broker.Feed.SendReady = true;
        broker.Feed.DropConnections();
        await Eventually(() => set.CurrentAsOf is not null, "the ready event on the next connection");
        using var ready = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), token);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, catchingUp.StatusCode);
        Assert.Contains("error_description=\"The token's revocation status is not known.\"", Rpc.Challenge(catchingUp), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task Heartbeats_KeepFresh_FeedDownPastMaxStaleness_FailsClosed()
    {
        // Arrange
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        await using var server = await StartAsync(broker, o => o.Revocation.MaxStaleness = TimeSpan.FromSeconds(30), o => o.FreshnessWindow = TimeSpan.FromSeconds(45), clock);
        var feed = server.Services.GetRequiredService<RevocationFeedClient>();
        var set = server.Services.GetRequiredService<RevokedGrantSet>();
        var health = server.Services.GetRequiredService<HealthCheckService>();
        await Eventually(() => feed.IsFresh, "the feed to connect", server);
        var token = broker.Sign(key, kid);

        // Act + Assert: a heartbeat 25 s in keeps the set current 50 s after connecting.
        clock.Advance(TimeSpan.FromSeconds(25));
        broker.Feed.Heartbeat();
        await Eventually(() => set.CurrentAsOf == clock.GetUtcNow(), "the heartbeat");
        clock.Advance(TimeSpan.FromSeconds(25));
        using (var fresh = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), token))
        {
            Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        }

        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(Ct)).Status);

        // The feed goes down for longer than MaxStaleness: the existing rule fails closed.
        broker.Feed.FailWith = 503;
        broker.Feed.DropConnections();
        await Eventually(() => !feed.Connected, "the drop");
        clock.Advance(TimeSpan.FromSeconds(31));
        using var stale = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), token);
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        Assert.Contains("error_description=\"The token's revocation status is not known.\"", Rpc.Challenge(stale), StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync(Ct)).Status);
    }

    [Fact]
    public async Task WrongCredential_401LoggedAndRetriedWithGrowingBackoff_CredentialNeverLogged()
    {
        // Arrange: the clock only moves when the test moves it, so a tight loop would show as extra requests.
        const string Credential = "wrong-credential-value";
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await StandInBroker.StartAsync();
        broker.NewKey();
        await using var server = await StartAsync(broker, feed: o => o.Credential = _ => ValueTask.FromResult(Credential), clock: clock);

        // Act
        await Eventually(() => server.Logs.WithEvent("BrokerRevocationFeedRefused").Any(), "the refusal");
        await Task.Delay(200, Ct);
        var requestsWhileClockStill = broker.Feed.Requests;
        for (var attempt = 2; attempt <= 4; attempt++)
        {
            var expected = attempt;
            await Eventually(() =>
            {
                if (server.Logs.WithEvent("BrokerRevocationFeedRefused").Count() >= expected)
                {
                    return true;
                }

                clock.Advance(TimeSpan.FromMilliseconds(250));
                return false;
            }, $"refusal {attempt}");
        }

        // Assert
        Assert.Equal(1, requestsWhileClockStill);
        var refusals = server.Logs.WithEvent("BrokerRevocationFeedRefused").Take(3).ToList();
        Assert.All(refusals, r => Assert.Equal(401, r.Fields["StatusCode"]));
        var delays = refusals.Select(r => (TimeSpan)r.Fields["Delay"]!).ToList();
        Assert.InRange(delays[0], TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        Assert.InRange(delays[1], TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        Assert.InRange(delays[2], TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4));
        Assert.DoesNotContain(server.Logs.Entries, e => e.Message.Contains(Credential, StringComparison.Ordinal));
        Assert.Empty(broker.Feed.LastEventIds);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("{\"exp\":1}")]
    [InlineData("{\"grant_id\":\"g\",\"exp\":\"soon\"}")]
    [InlineData("[]")]
    public async Task UnreadableRevokedEvent_TreatedAsResetFromNow_StreamContinues(string data)
    {
        // Arrange
        await using var broker = await StandInBroker.StartAsync();
        broker.NewKey();
        await using var server = await StartAsync(broker, feed: o => o.RefuseTokensIssuedBeforeGap = false);
        var feed = server.Services.GetRequiredService<RevocationFeedClient>();
        var check = server.Services.GetRequiredService<IRevocationCheck>();
        await Eventually(() => feed.IsFresh, "the feed to connect", server);
        var issuedBefore = DateTimeOffset.UtcNow.AddSeconds(-1);
        Assert.False((await check.CheckAsync("grant-x", issuedBefore, Ct)).Revoked);

        // Act
        broker.Feed.SendRaw($"event: revoked\nid: 1796161709999-0\ndata: {data}\n\n");
        var next = broker.Feed.Revoke("grant-y", DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds());
        await Eventually(() => feed.LastEventId == next, "the next event", server);

        // Assert
        Assert.Single(server.Logs.WithEvent("BrokerRevocationFeedBadEvent"));
        Assert.True((await check.CheckAsync("grant-x", issuedBefore, Ct)).Revoked);
        Assert.Equal([null], broker.Feed.LastEventIds);
    }

    [Theory]
    [InlineData("line")]
    [InlineData("event")]
    public async Task OversizedInput_ConnectionDroppedAndReopened(string what)
    {
        // Arrange
        await using var broker = await StandInBroker.StartAsync();
        broker.NewKey();
        await using var server = await StartAsync(broker);
        var feed = server.Services.GetRequiredService<RevocationFeedClient>();
        await Eventually(() => feed.IsFresh, "the feed to connect", server);

        // Act: one 10 000-character comment, or an event of three 6 000-character data lines.
        broker.Feed.SendRaw(what == "line"
            ? ": " + new string('x', 10_000) + "\n\n"
            : "event: revoked\n" + string.Concat(Enumerable.Repeat("data: " + new string('x', 6_000) + "\n", 3)) + "\n");
        await Eventually(() => broker.Feed.LastEventIds.Count == 2 && feed.IsFresh, "the reconnection");

        // Assert
        var disconnected = Assert.Single(server.Logs.WithEvent("BrokerRevocationFeedDisconnected"));
        Assert.Contains(what == "line" ? "a line exceeds 8192 characters" : "an event exceeds 16384 characters", (string)disconnected.Fields["Reason"]!, StringComparison.Ordinal);
        Assert.Empty(server.Logs.WithEvent("BrokerRevocationApplied"));
    }

    [Theory]
    [InlineData("another origin")]
    [InlineData("another port")]
    [InlineData("not a URL")]
    [InlineData("absent")]
    public async Task EndpointNotOnBrokerOrigin_Refused(string scenario)
    {
        // Arrange
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await StandInBroker.StartAsync();
        await using var elsewhere = await StandInBroker.StartAsync();
        broker.NewKey();
        var jwks = broker.Issuer + "/.well-known/jwks.json";
        broker.Metadata = scenario switch
        {
            "another origin" => () => new { issuer = broker.Issuer, jwks_uri = jwks, revocation_events_endpoint = elsewhere.Issuer.Replace("127.0.0.1", "localhost", StringComparison.Ordinal) + StandInRevocationFeed.Path },
            "another port" => () => new { issuer = broker.Issuer, jwks_uri = jwks, revocation_events_endpoint = elsewhere.Issuer + StandInRevocationFeed.Path },
            "not a URL" => () => new { issuer = broker.Issuer, jwks_uri = jwks, revocation_events_endpoint = StandInRevocationFeed.Path },
            _ => () => new { issuer = broker.Issuer, jwks_uri = jwks },
        };

        // Act
        await using var server = await StartAsync(broker, clock: clock);
        await Eventually(() => server.Logs.WithEvent("BrokerRevocationFeedUnavailable").Any(), "the refusal");

        // Assert
        var reason = (string)server.Logs.WithEvent("BrokerRevocationFeedUnavailable").First().Fields["Reason"]!;
        Assert.Contains(scenario == "absent" ? "names no revocation_events_endpoint" : "not a URL on the broker's origin", reason, StringComparison.Ordinal);
        Assert.Equal((0, 0), (broker.Feed.Requests, elsewhere.Feed.Requests));
        Assert.False(server.Services.GetRequiredService<RevocationFeedClient>().Connected);
    }

    [Fact]
    public async Task NoCredential_HostDoesNotStart()
    {
        // Arrange
        await using var broker = await StandInBroker.StartAsync();

        // Act + Assert
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestMcpServer.StartAsync(broker.BaseAddress, services: s => s.AddBrokerRevocationFeed(_ => { })));
        Assert.Contains("Credential is required", error.Message, StringComparison.Ordinal);
    }

    private static Task<TestMcpServer> StartAsync(
        StandInBroker broker,
        Action<BrokerTokenOptions>? configure = null,
        Action<RevocationFeedOptions>? feed = null,
        TimeProvider? clock = null) =>
        TestMcpServer.StartAsync(broker.BaseAddress, configure, services =>
        {
            if (clock is not null)
            {
                services.AddSingleton(clock);
            }

            services.AddBrokerRevocationFeed(o =>
            {
                o.Credential = _ => ValueTask.FromResult(broker.Feed.Credential);
                feed?.Invoke(o);
            });
            services.AddHealthChecks().AddBrokerRevocationFeedHealthCheck();
        });

    /// <summary>Waits for <paramref name="condition"/> with a generous deadline; never asserts on elapsed time.</summary>
    private static async Task Eventually(Func<bool> condition, string what, TestMcpServer? server = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (deadline.IsCancellationRequested)
            {
                var logs = server is null ? "" : string.Join("\n", server.Logs.Entries.Where(e => e.Category.StartsWith("Broker", StringComparison.Ordinal)).Select(e => e.Message));
                Assert.Fail("Timed out waiting for " + what + ".\n" + logs);
            }

            await Task.Delay(20, CancellationToken.None);
        }
    }
}
