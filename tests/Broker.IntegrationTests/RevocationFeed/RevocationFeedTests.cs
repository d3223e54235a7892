using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.RevocationFeed;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.IntegrationTests.RevocationFeed;

/// <summary>
/// <c>GET /revocations/v1/events</c> over real Kestrel, read with a raw HttpClient: what a verifier sees when grants
/// of its tenant are revoked, when it resumes, and when it asks wrongly. Run on both stores.
/// </summary>
public abstract class RevocationFeedTests : IAsyncLifetime
{
    private const string Path = "/revocations/v1/events";

    private ExchangeFixture? _fixture;

    protected ExchangeFixture Fixture => _fixture ?? throw new InvalidOperationException("Call StartAsync first.");

    /// <summary>Selects the store under test.</summary>
    protected abstract void ConfigureStore(Dictionary<string, string?> settings);

    /// <summary>A position of this store older than anything it retains.</summary>
    protected abstract string OlderThanAnyPosition { get; }

    /// <summary>Digits like a position, but not one a store could have produced (no sequence).</summary>
    protected abstract string ForeignPosition { get; }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_fixture is not null)
        {
            await _fixture.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    protected async Task StartAsync(Action<Dictionary<string, string?>>? configure = null)
    {
        _fixture = new ExchangeFixture
        {
            Configure = s =>
            {
                ConfigureStore(s);
                s.Configure<RevocationFeedOptions>(o =>
                {
                    o.FeedHeartbeat = TimeSpan.FromMilliseconds(200);
                    o.FeedMaxConnections = 3;
                });
                configure?.Invoke(s);
            },
        };
        await _fixture.InitializeAsync();
    }

    [Fact]
    public async Task Revoke_ByAdmin_SendsARevokedEventWithGrantIdAndExp()
    {
        // Arrange
        await StartAsync();
        var token = await DerivedGrantRevocationTests.IssueAsync(Fixture);
        using var feed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"));
        using var events = await ReaderOfAsync(feed);

        // Act
        await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(token));
        var revoked = await events.NextEventAsync();

        // Assert: the headers the protocol fixes, the opening comment, then the event.
        Assert.Equal("text/event-stream", feed.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-store", feed.Headers.CacheControl?.ToString());
        Assert.Equal("no", feed.Headers.GetValues("X-Accel-Buffering").Single());
        Assert.Equal(": broker revocation feed", events.FirstLine);
        Assert.Equal("revoked", revoked.Event);
        Assert.False(string.IsNullOrEmpty(revoked.Id));
        using var data = JsonDocument.Parse(revoked.Data!);
        Assert.Equal(GrantIdOf(token), data.RootElement.GetProperty("grant_id").GetString());
        Assert.Equal(new JsonWebToken(token).ValidTo, DateTimeOffset.FromUnixTimeSeconds(data.RootElement.GetProperty("exp").GetInt64()).UtcDateTime);
        Assert.True(data.RootElement.GetProperty("revoked_at").GetInt64() > 0);
    }

    [Fact]
    public async Task Open_SendsRetryAtTheStart()
    {
        await StartAsync();
        using var feed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"));
        Assert.Equal(HttpStatusCode.OK, feed.StatusCode);
        using var events = new SseReader(await feed.Content.ReadAsStreamAsync());

        var opening = await events.ReadAsync();

        Assert.NotNull(opening);
        Assert.Equal("1000", opening.Retry);
        Assert.Contains("broker revocation feed", opening.Comments);
    }

    [Fact]
    public async Task RevokeParent_SendsOneEventPerGrant()
    {
        // Arrange: a parent narrowed twice.
        await StartAsync();
        var parent = await DerivedGrantRevocationTests.IssueAsync(Fixture);
        var child = await DerivedGrantRevocationTests.ReExchangeAsync(Fixture, parent);
        var grandchild = await DerivedGrantRevocationTests.ReExchangeAsync(Fixture, child);
        using var feed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"));
        using var events = await ReaderOfAsync(feed);
        var first = await DerivedGrantRevocationTests.IssueAsync(Fixture);
        await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(first));
        Assert.Equal(GrantIdOf(first), GrantIdOfEvent(await events.NextEventAsync()));

        // Act
        await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(parent));
        List<string> received = [];
        for (var i = 0; i < 3; i++)
        {
            received.Add(GrantIdOfEvent(await events.NextEventAsync()));
        }

        // Assert: each grant once; then a later revocation is the next event (no repeat in between).
        Assert.Equal(new[] { GrantIdOf(parent), GrantIdOf(child), GrantIdOf(grandchild) }.Order(), received.Order());
        var other = await DerivedGrantRevocationTests.IssueAsync(Fixture);
        await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(other));
        Assert.Equal(GrantIdOf(other), GrantIdOfEvent(await events.NextEventAsync()));
    }

    [Fact]
    public async Task Resume_WithLastEventId_SendsExactlyTheRevocationsMadeWhileDisconnected()
    {
        // Arrange: one revocation seen, then the client goes away.
        await StartAsync();
        var tokens = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            tokens.Add(await DerivedGrantRevocationTests.IssueAsync(Fixture));
        }

        string lastId;
        using (var feed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices")))
        using (var events = await ReaderOfAsync(feed))
        {
            await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(tokens[0]));
            var first = await events.NextEventAsync();
            Assert.Equal(GrantIdOf(tokens[0]), GrantIdOfEvent(first));
            lastId = first.Id!;
        }

        await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(tokens[1]));
        await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(tokens[2]));

        // Act
        using var resumed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"), lastEventId: lastId);
        using var resumedEvents = await ReaderOfAsync(resumed);
        var missed1 = await resumedEvents.NextEventAsync();
        var missed2 = await resumedEvents.NextEventAsync();
        var ready = await resumedEvents.NextEventAsync(skipReady: false);
        await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(tokens[3]));
        var live = await resumedEvents.NextEventAsync();

        // Assert: the two missed in order, then the live one; nothing seen before, nothing twice.
        Assert.Equal([GrantIdOf(tokens[1]), GrantIdOf(tokens[2]), GrantIdOf(tokens[3])], [GrantIdOfEvent(missed1), GrantIdOfEvent(missed2), GrantIdOfEvent(live)]);
        Assert.Equal(3, new[] { lastId, missed1.Id, missed2.Id, live.Id }.Skip(1).Distinct().Count());
        Assert.DoesNotContain(lastId, new[] { missed1.Id, missed2.Id, live.Id });
        Assert.Equal(("ready", missed2.Id), (ready.Event, ready.Id));
    }

    [Fact]
    public async Task OpenFromNow_SendsReadyWithThePositionToResumeFrom()
    {
        // Arrange: a feed opened without Last-Event-ID that sees no revocation before it is cut (a quiet tenant,
        // or the broker ending the connection after its maximum lifetime).
        await StartAsync();
        var token = await DerivedGrantRevocationTests.IssueAsync(Fixture);
        string position;
        using (var feed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices")))
        using (var events = await ReaderOfAsync(feed))
        {
            var opening = await events.NextEventAsync(skipReady: false);
            Assert.Equal("ready", opening.Event);
            Assert.Equal("{}", opening.Data);
            Assert.False(string.IsNullOrEmpty(opening.Id));
            position = opening.Id!;
        }

        // Act: revoked while the verifier is away; it resumes from the position it was given.
        await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(token));
        using var resumed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"), lastEventId: position);
        using var resumedEvents = await ReaderOfAsync(resumed);
        var missed = await resumedEvents.NextEventAsync();

        // Assert: the revocation made in the gap, not a loss of history.
        Assert.Equal(GrantIdOf(token), GrantIdOfEvent(missed));
    }

    [Fact]
    public async Task OpenFromNow_OnAStoreWithRevocations_SendsTheNewestPosition()
    {
        // Arrange: the tenant's stream already has an entry.
        await StartAsync();
        var before = await DerivedGrantRevocationTests.IssueAsync(Fixture);
        var after = await DerivedGrantRevocationTests.IssueAsync(Fixture);
        await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(before));
        string position;
        using (var feed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices")))
        using (var events = await ReaderOfAsync(feed))
        {
            var opening = await events.NextEventAsync(skipReady: false);
            Assert.Equal("ready", opening.Event);
            position = opening.Id!;
        }

        // Act
        await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(after));
        using var resumed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"), lastEventId: position);
        using var resumedEvents = await ReaderOfAsync(resumed);

        // Assert: only what came after the position; the earlier revocation is not replayed.
        Assert.Equal(GrantIdOf(after), GrantIdOfEvent(await resumedEvents.NextEventAsync()));
    }

    [Fact]
    public async Task OtherTenantsRevocations_NeverAppear()
    {
        // Arrange: a feed for each tenant, a grant of each.
        await StartAsync();
        var acmeToken = await DerivedGrantRevocationTests.IssueAsync(Fixture);
        var globexResponse = await Fixture.ExchangeAsync(ExchangeFixture.Request(Fixture.Globex.Svid("/agents/reader"), resource: ExchangeFixture.GlobexInvoicesResource));
        Assert.Equal(HttpStatusCode.OK, globexResponse.Status);
        using var acmeFeed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"));
        using var acmeEvents = await ReaderOfAsync(acmeFeed);
        using var globexFeed = await OpenAsync(Fixture.Globex.Svid("/mcp/invoices"));
        using var globexEvents = await ReaderOfAsync(globexFeed);

        // Act: globex's revocation first, then acme's.
        await RevokeAsync(Fixture.Globex.Svid("/admins/bob"), GrantIdOf(globexResponse.AccessToken));
        await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(acmeToken));

        // Assert: each feed's first event is its own tenant's.
        Assert.Equal(GrantIdOf(acmeToken), GrantIdOfEvent(await acmeEvents.NextEventAsync()));
        Assert.Equal(GrantIdOf(globexResponse.AccessToken), GrantIdOfEvent(await globexEvents.NextEventAsync()));

        // Assert: replaying acme's history from before both shows acme's only.
        using var replay = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"), lastEventId: OlderThanAnyPosition);
        using var replayEvents = await ReaderOfAsync(replay);
        Assert.Equal("reset", (await replayEvents.NextEventAsync()).Event);
        Assert.Equal(GrantIdOf(acmeToken), GrantIdOfEvent(await replayEvents.NextEventAsync()));
    }

    [Fact]
    public async Task QuietFeed_SendsHeartbeats()
    {
        await StartAsync();
        using var feed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"));
        using var events = await ReaderOfAsync(feed);

        SseMessage? message;
        do
        {
            message = await events.ReadAsync();
            Assert.NotNull(message);
        }
        while (!message.Comments.Contains("heartbeat"));

        Assert.Null(message.Event);
        Assert.Null(message.Data);
    }

    [Fact]
    public async Task Resume_FromBeforeTheRetainedHistory_SendsResetThenTheRetainedEntries()
    {
        // Arrange: one revocation retained.
        await StartAsync();
        var token = await DerivedGrantRevocationTests.IssueAsync(Fixture);
        SseMessage seen;
        using (var feed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices")))
        using (var events = await ReaderOfAsync(feed))
        {
            await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(token));
            seen = await events.NextEventAsync();
        }

        // Act
        using var resumed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"), lastEventId: OlderThanAnyPosition);
        using var resumedEvents = await ReaderOfAsync(resumed);
        var reset = await resumedEvents.NextEventAsync();
        var replayed = await resumedEvents.NextEventAsync();

        // Assert: the reset names the oldest retained entry and an instant no earlier than its revocation.
        Assert.Equal("reset", reset.Event);
        Assert.Equal(seen.Id, reset.Id);
        using var data = JsonDocument.Parse(reset.Data!);
        Assert.Equal("history_lost", data.RootElement.GetProperty("reason").GetString());
        using var seenData = JsonDocument.Parse(seen.Data!);
        Assert.True(data.RootElement.GetProperty("since").GetInt64() > seenData.RootElement.GetProperty("revoked_at").GetInt64());
        Assert.Equal("revoked", replayed.Event);
        Assert.Equal(seen.Id, replayed.Id);
        Assert.Equal(GrantIdOf(token), GrantIdOfEvent(replayed));
    }

    [Fact]
    public async Task Feed_EndsAfterItsMaximumLifetime()
    {
        await StartAsync(s => s.Configure<RevocationFeedOptions>(o => o.FeedMaxConnectionLifetime = TimeSpan.FromSeconds(1)));
        using var feed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"));
        using var events = await ReaderOfAsync(feed);

        // Heartbeats until the broker closes the stream; the reader's deadline fails the test if it never does.
        while (await events.ReadAsync() is not null)
        {
        }
    }

    [Fact]
    public async Task ConnectionsBeyondTheLimit_Are503WithRetryAfter()
    {
        await StartAsync();
        List<HttpResponseMessage> open = [];
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var feed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"));
                open.Add(feed);
                Assert.Equal(HttpStatusCode.OK, feed.StatusCode);
            }

            using var refused = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Equal("temporarily_unavailable", (await ErrorOfAsync(refused)).Error);
        }
        finally
        {
            open.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task Metadata_AdvertisesTheFeed()
    {
        await StartAsync();
        using var body = JsonDocument.Parse(await Fixture.Host.Client.GetStringAsync("/.well-known/oauth-authorization-server"));
        Assert.Equal("https://broker.test/revocations/v1/events", body.RootElement.GetProperty("revocation_events_endpoint").GetString());
    }

    public static TheoryData<string> BadCredentials => new()
    {
        "none",
        "garbage",
        "expired",
        "capability token",
    };

    [Theory]
    [MemberData(nameof(BadCredentials))]
    public async Task NoOrInvalidCredential_Is401(string credential)
    {
        await StartAsync();
        var bearer = credential switch
        {
            "none" => null,
            "garbage" => "not.a.jwt",
            "expired" => Fixture.Acme.Svid("/mcp/invoices", lifetime: TimeSpan.FromMinutes(-5)),
            _ => await DerivedGrantRevocationTests.IssueAsync(Fixture),
        };

        using var response = await OpenAsync(bearer);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_token", (await ErrorOfAsync(response)).Error);
    }

    [Fact]
    public async Task WorkloadOfNoTenant_Is403()
    {
        await StartAsync();
        using var response = await OpenAsync(Fixture.Oidc.ServiceAccountToken("marketing", "bot"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("insufficient_scope", (await ErrorOfAsync(response)).Error);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("application/json")]
    [InlineData("*/*")]
    [InlineData("text/event-stream;q=0")]
    [InlineData("not a media type")]
    public async Task WrongAccept_Is406(string? accept)
    {
        await StartAsync();
        using var response = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"), accept: accept);

        Assert.Equal(HttpStatusCode.NotAcceptable, response.StatusCode);
        var (error, description) = await ErrorOfAsync(response);
        Assert.Equal("invalid_request", error);
        Assert.Contains("text/event-stream", description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("1--2")]
    [InlineData("1 2")]
    [InlineData("12345678901234567890123456789012345678901234567890123456789012345")]
    [InlineData("foreign")]
    [InlineData("twice")]
    public async Task MalformedLastEventId_Is400(string lastEventId)
    {
        await StartAsync();
        using var request = Request(Fixture.Acme.Svid("/mcp/invoices"), "text/event-stream");
        switch (lastEventId)
        {
            case "foreign":
                request.Headers.TryAddWithoutValidation("Last-Event-ID", ForeignPosition);
                break;
            case "twice":
                request.Headers.TryAddWithoutValidation("Last-Event-ID", [OlderThanAnyPosition, OlderThanAnyPosition]);
                break;
            default:
                request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
                break;
        }

        using var response = await Fixture.Host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request", (await ErrorOfAsync(response)).Error);
    }

    [Fact]
    public async Task EmptyLastEventId_IsFromNow()
    {
        // Arrange: a revocation before the connection.
        await StartAsync();
        var before = await DerivedGrantRevocationTests.IssueAsync(Fixture);
        var after = await DerivedGrantRevocationTests.IssueAsync(Fixture);
        await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(before));

        // Act
        using var feed = await OpenAsync(Fixture.Acme.Svid("/mcp/invoices"), lastEventId: string.Empty);
        using var events = await ReaderOfAsync(feed);
        await RevokeAsync(Fixture.Acme.Svid("/admins/alice"), GrantIdOf(after));

        // Assert: no history replayed.
        Assert.Equal(GrantIdOf(after), GrantIdOfEvent(await events.NextEventAsync()));
    }

    private static HttpRequestMessage Request(string? bearer, string? accept)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, Path);
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        return request;
    }

    private async Task<HttpResponseMessage> OpenAsync(string? bearer, string? lastEventId = null, string? accept = "text/event-stream")
    {
        using var request = Request(bearer, accept);
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        return await Fixture.Host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>The event reader of an open feed, after its opening block (so the subscription is live).</summary>
    private static async Task<SseReader> ReaderOfAsync(HttpResponseMessage feed)
    {
        Assert.Equal(HttpStatusCode.OK, feed.StatusCode);
        var reader = new SseReader(await feed.Content.ReadAsStreamAsync());
        var opening = await reader.ReadAsync();
        Assert.NotNull(opening);
        Assert.Contains("broker revocation feed", opening.Comments);
        return reader;
    }

    private async Task RevokeAsync(string admin, string grantId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/grants/{grantId}/revoke") { Content = JsonContent.Create(new { reason = "feed test" }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        using var response = await Fixture.Host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<(string? Error, string? Description)> ErrorOfAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (body.RootElement.GetProperty("error").GetString(), body.RootElement.GetProperty("error_description").GetString());
    }

    private static string GrantIdOf(string token) => new JsonWebToken(token).Id;

    private static string GrantIdOfEvent(SseMessage message)
    {
        Assert.Equal("revoked", message.Event);
        using var data = JsonDocument.Parse(message.Data!);
        return data.RootElement.GetProperty("grant_id").GetString()!;
    }
}

/// <summary>
/// The feed tests hold long-lived connections and start a host per test: run on their own, so they do not starve
/// the timing-sensitive exchange races of other classes on a two-core machine.
/// </summary>
[CollectionDefinition(nameof(RevocationFeedSerial), DisableParallelization = true)]
public sealed class RevocationFeedSerial;

/// <summary><see cref="RevocationFeedTests"/> on the in-memory store.</summary>
[Collection(nameof(RevocationFeedSerial))]
public sealed class InMemoryRevocationFeedTests : RevocationFeedTests
{
    protected override void ConfigureStore(Dictionary<string, string?> settings)
    {
    }

    // Its positions are made from the clock at start, as Redis makes stream IDs, so 0-1 is before any of them.
    protected override string OlderThanAnyPosition => "0-1";

    protected override string ForeignPosition => "17";
}

/// <summary><see cref="RevocationFeedTests"/> on a real redis-server, live revocations through pub/sub.</summary>
[Collection(nameof(RevocationFeedSerial))]
public sealed class RedisRevocationFeedTests(RedisServerFixture redis) : RevocationFeedTests
{
    protected override void ConfigureStore(Dictionary<string, string?> settings)
    {
        settings.Configure<RedisOptions>(o =>
        {
            o.Configuration = redis.Configuration;
            o.KeyPrefix = RedisServerFixture.NewKeyPrefix();
        });
    }

    protected override string OlderThanAnyPosition => "0-1";

    protected override string ForeignPosition => "17";
}
