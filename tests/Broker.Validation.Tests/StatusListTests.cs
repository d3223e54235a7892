using System.Net;
using System.Security.Cryptography;
using Broker.Validation.Revocation;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Validation.Tests;

/// <summary>
/// The status list client against a stand-in broker on real Kestrel that serves list tokens a test crafts: revoked
/// bits refuse tokens through the real JwtBearer pipeline, a stale list fails closed, lists with a wrong sub, typ, alg,
/// key, signature, issuer or expiry are never used, decompression is bounded, and tokens whose status this server
/// cannot read are refused.
/// </summary>
public sealed class StatusListTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RevokedBitInThePolledList_ThatTokenRefused_OthersAccepted()
    {
        // Arrange: index 3 INVALID in the list the broker serves.
        await using var broker = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        var list = new byte[128];
        list[0] = 0b0000_1000;
        broker.StatusList = _ => StandInBroker.ListResponse(broker.SignList(key, kid, list));
        await using var server = await StartAsync(broker);
        await WaitForListAsync(server);

        // Act
        using var revoked = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), TokenAt(broker, key, kid, 3));
        using var kept = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), TokenAt(broker, key, kid, 4));

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
        Assert.Contains("error_description=\"The token's grant has been revoked.\"", Rpc.Challenge(revoked), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
        Assert.IsType<StatusListRevocationCheck>(server.Services.GetRequiredService<IRevocationCheck>());
    }

    [Fact]
    public async Task BitSetAfterwards_TheNextPollRefusesTheToken()
    {
        // Arrange
        await using var broker = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        var list = new byte[128];
        broker.StatusList = _ => StandInBroker.ListResponse(broker.SignList(key, kid, list));
        await using var server = await StartAsync(broker);
        await WaitForListAsync(server);
        var token = TokenAt(broker, key, kid, 9);
        using (var before = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), token))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // Act: the broker revokes index 9 (bit 1 of byte 1).
        list[1] = 0b0000_0010;
        var polls = broker.StatusListRequests;
        await Eventually(() => broker.StatusListRequests > polls + 1, "two more polls", server);
        using var after = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), token);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StaleList_TokensRefused_UnlessAllowedWhenStale_HealthUnhealthy(bool allowWhenStale)
    {
        // Arrange: a valid list, but issued 10 minutes ago (the broker's replica cannot refresh it): older than MaxAge.
        await using var broker = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        var iat = DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds();
        broker.StatusList = _ => StandInBroker.ListResponse(broker.SignList(key, kid, new byte[128], c => c["iat"] = iat));
        await using var server = await StartAsync(broker, configure: o => o.Revocation.AllowWhenStale = allowWhenStale);
        await WaitForListAsync(server);

        // Act
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), TokenAt(broker, key, kid, 1));
        var health = await server.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Ct);

        // Assert: MaxStaleness defaulted to the list's MaxAge (2 minutes): fail closed unless opened on purpose.
        Assert.Equal(TimeSpan.FromMinutes(2), server.Services.GetRequiredService<IOptionsMonitor<BrokerTokenOptions>>().Get(BrokerTokenDefaults.AuthenticationScheme).Revocation.MaxStaleness);
        Assert.Equal(allowWhenStale ? HttpStatusCode.OK : HttpStatusCode.Unauthorized, response.StatusCode);
        if (!allowWhenStale)
        {
            Assert.Contains("error_description=\"The token's revocation status is not known.\"", Rpc.Challenge(response), StringComparison.Ordinal);
        }

        Assert.Equal(HealthStatus.Unhealthy, health.Status);
        Assert.Equal("The broker status list is stale.", health.Entries["broker-status-list"].Description);
    }

    [Fact]
    public async Task FreshList_HealthyWithItsUri_StaleWhenTheBrokerStopsAnswering()
    {
        // Arrange
        await using var broker = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        broker.StatusList = _ => StandInBroker.ListResponse(broker.SignList(key, kid, new byte[128], c => c["iat"] = clock.GetUtcNow().ToUnixTimeSeconds()));
        await using var server = await StartAsync(broker, clock: clock);
        await WaitForListAsync(server);
        var health = server.Services.GetRequiredService<HealthCheckService>();
        var fresh = await health.CheckHealthAsync(Ct);

        // Act: the broker fails from now on, and three minutes pass.
        broker.StatusList = _ => Results.StatusCode(503);
        clock.Advance(TimeSpan.FromMinutes(3));
        var stale = await health.CheckHealthAsync(Ct);

        // Assert
        Assert.Equal(HealthStatus.Healthy, fresh.Status);
        Assert.Equal(broker.StatusListUri, fresh.Entries["broker-status-list"].Data["list_uri"]);
        Assert.Equal(HealthStatus.Unhealthy, stale.Status);
    }

    public static TheoryData<string, string> BadLists => new()
    {
        { "another tenant's list", "sub is not the URL it was fetched from" },
        { "no sub", "sub is not the URL it was fetched from" },
        { "typ JWT", "typ is not statuslist+jwt" },
        { "typ at+jwt", "typ is not statuslist+jwt" },
        { "no typ", "typ is not statuslist+jwt" },
        { "alg none", "alg is not ES256" },
        { "unpublished key", "signed with a key the broker does not publish" },
        { "published kid, other key", "signature is not valid" },
        { "another issuer", "iss is not the broker" },
        { "expired", "has expired" },
        { "no exp", "has no exp" },
        { "no iat", "has no iat" },
        { "iat in the future", "has no iat, or one in the future" },
        { "ttl zero", "ttl is not a positive number" },
        { "bits 3", "status_list is not" },
        { "no lst", "status_list is not" },
        { "lst not zlib", "lst is not ZLIB data" },
        { "text/plain", "not application/statuslist+jwt" },
        { "redirect", "HTTP 302" },
        { "not found", "HTTP 404" },
        { "not a jws", "not a compact JWS" },
    };

    [Theory]
    [MemberData(nameof(BadLists))]
    public async Task BadList_NeverUsed_TokensRefused_ReasonLogged(string bad, string reason)
    {
        // Arrange
        await using var broker = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        var (other, otherKid) = broker.NewKey(publish: false);
        var list = new byte[128];
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        broker.StatusList = _ => bad switch
        {
            "another tenant's list" => StandInBroker.ListResponse(broker.SignList(key, kid, list, c => c["sub"] = broker.Issuer + "/statuslists/v1/other")),
            "no sub" => StandInBroker.ListResponse(broker.SignList(key, kid, list, c => c.Remove("sub"))),
            "typ JWT" => StandInBroker.ListResponse(broker.SignList(key, kid, list, header: h => h["typ"] = "JWT")),
            "typ at+jwt" => StandInBroker.ListResponse(broker.SignList(key, kid, list, header: h => h["typ"] = "at+jwt")),
            "no typ" => StandInBroker.ListResponse(broker.SignList(key, kid, list, header: h => h.Remove("typ"))),
            "alg none" => StandInBroker.ListResponse(Unsigned(broker.SignList(key, kid, list))),
            "unpublished key" => StandInBroker.ListResponse(broker.SignList(other, otherKid, list)),
            "published kid, other key" => StandInBroker.ListResponse(broker.SignList(other, kid, list)),
            "another issuer" => StandInBroker.ListResponse(broker.SignList(key, kid, list, c => c["iss"] = "https://evil.example")),
            "expired" => StandInBroker.ListResponse(broker.SignList(key, kid, list, c => c["exp"] = now - 120)),
            "no exp" => StandInBroker.ListResponse(broker.SignList(key, kid, list, c => c.Remove("exp"))),
            "no iat" => StandInBroker.ListResponse(broker.SignList(key, kid, list, c => c.Remove("iat"))),
            "iat in the future" => StandInBroker.ListResponse(broker.SignList(key, kid, list, c => c["iat"] = now + 3600)),
            "ttl zero" => StandInBroker.ListResponse(broker.SignList(key, kid, list, c => c["ttl"] = 0)),
            "bits 3" => StandInBroker.ListResponse(broker.SignList(key, kid, list, bits: 3)),
            "no lst" => StandInBroker.ListResponse(broker.SignList(key, kid, list, c => c["status_list"] = new Dictionary<string, object> { ["bits"] = 1 })),
            "lst not zlib" => StandInBroker.ListResponse(broker.SignList(key, kid, list, c => c["status_list"] = new Dictionary<string, object> { ["bits"] = 1, ["lst"] = "AAECAwQF" })),
            "text/plain" => Results.Text(broker.SignList(key, kid, list), "text/plain"),
            "redirect" => Results.Redirect(broker.Issuer + "/elsewhere"),
            "not found" => null,
            _ => StandInBroker.ListResponse("this is not a token"),
        };
        await using var server = await StartAsync(broker);

        // Act
        await Eventually(() => server.Logs.WithEvent("BrokerStatusListUnavailable").Any(), "the list to be refused", server);
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), TokenAt(broker, key, kid, 1));

        // Assert: no list held, nothing vouched for; the reason says why and never quotes the token.
        var check = server.Services.GetRequiredService<StatusListRevocationCheck>();
        Assert.Null(check.FetchedAt);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var logged = (string)server.Logs.WithEvent("BrokerStatusListUnavailable").First().Fields["Reason"]!;
        Assert.Contains(reason, logged, StringComparison.Ordinal);
        Assert.DoesNotContain("eyJ", logged, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListLargerThanTheCapacityOnceDecompressed_Refused_ZlibBomb()
    {
        // Arrange: 8 MiB of zeros compresses to a few kilobytes; the server accepts lists of 1,024 entries (128 bytes).
        await using var broker = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        var bomb = broker.SignList(key, kid, new byte[8 * 1024 * 1024]);
        broker.StatusList = _ => StandInBroker.ListResponse(bomb);
        await using var server = await StartAsync(broker, statusList: o => o.Capacity = 1024);

        // Act
        await Eventually(() => server.Logs.WithEvent("BrokerStatusListUnavailable").Any(), "the list to be refused", server);

        // Assert
        Assert.True(bomb.Length < 64 * 1024);
        Assert.Contains("decompresses to more than 128 bytes", (string)server.Logs.WithEvent("BrokerStatusListUnavailable").First().Fields["Reason"]!, StringComparison.Ordinal);
        Assert.Null(server.Services.GetRequiredService<StatusListRevocationCheck>().FetchedAt);
    }

    [Fact]
    public async Task ListTokenLongerThanTwiceTheList_RefusedBeforeItIsRead()
    {
        // Arrange: random bytes do not compress; a list of 64 KiB is far more than the 1,024 entries accepted.
        await using var broker = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        broker.StatusList = _ => StandInBroker.ListResponse(broker.SignList(key, kid, RandomNumberGenerator.GetBytes(64 * 1024)));
        await using var server = await StartAsync(broker, statusList: o => o.Capacity = 1024);

        // Act
        await Eventually(() => server.Logs.WithEvent("BrokerStatusListUnavailable").Any(), "the list to be refused", server);

        // Assert
        Assert.Contains("list token is longer than", (string)server.Logs.WithEvent("BrokerStatusListUnavailable").First().Fields["Reason"]!, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> UnreadableStatuses => new()
    {
        { "another list", "The token's revocation status is not known." },
        { "index outside the list", "The token's revocation status is not known." },
        { "no status", "The token's revocation status is not known." },
        { "negative index", "The token lacks required claims." },
        { "index not a number", "The token lacks required claims." },
        { "uri not a string", "The token lacks required claims." },
        { "status not an object", "The token lacks required claims." },
    };

    [Theory]
    [MemberData(nameof(UnreadableStatuses))]
    public async Task TokenWhoseStatusTheListCannotAnswer_Refused(string @case, string description)
    {
        // Arrange: a fresh list of 1,024 entries, all VALID.
        await using var broker = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        broker.StatusList = _ => StandInBroker.ListResponse(broker.SignList(key, kid, new byte[128]));
        await using var server = await StartAsync(broker);
        await WaitForListAsync(server);
        var token = broker.Sign(key, kid, claims: c =>
        {
            c["status"] = @case switch
            {
                "another list" => StatusClaim(1, broker.Issuer + "/statuslists/v1/other"),
                "index outside the list" => StatusClaim(1024, broker.StatusListUri),
                "negative index" => StatusClaim(-1, broker.StatusListUri),
                "index not a number" => new Dictionary<string, object> { ["status_list"] = new Dictionary<string, object> { ["idx"] = "1", ["uri"] = broker.StatusListUri } },
                "uri not a string" => new Dictionary<string, object> { ["status_list"] = new Dictionary<string, object> { ["idx"] = 1, ["uri"] = 7 } },
                "status not an object" => "revoked?",
                _ => null!,
            };
            if (@case == "no status")
            {
                c.Remove("status");
            }
        });

        // Act
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), token);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains($"error_description=\"{description}\"", Rpc.Challenge(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithTheFeedToo_EitherSourceRefuses_TheListAloneVouches()
    {
        // Arrange: the status list and the revocation feed, both from the stand-in.
        await using var broker = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        var list = new byte[128];
        list[0] = 0b0000_0100;
        broker.StatusList = _ => StandInBroker.ListResponse(broker.SignList(key, kid, list));
        await using var server = await StartAsync(broker, services: s => s.AddBrokerRevocationFeed(o =>
        {
            o.Credential = _ => ValueTask.FromResult(broker.Feed.Credential);
            o.RefuseTokensIssuedBeforeGap = false;
        }));
        await WaitForListAsync(server);
        var feed = server.Services.GetRequiredService<RevocationFeedClient>();
        await Eventually(() => feed.IsFresh, "the feed to connect", server);
        var byFeed = TokenAt(broker, key, kid, 5);
        broker.Feed.Revoke(new JsonWebToken(byFeed).Id, DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds());
        await Eventually(() => server.Services.GetRequiredService<RevokedGrantSet>().Contains(new JsonWebToken(byFeed).Id), "the feed's revocation", server);

        // Act
        using var revokedByList = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), TokenAt(broker, key, kid, 2));
        using var revokedByFeed = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), byFeed);
        using var valid = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), TokenAt(broker, key, kid, 6));

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, revokedByList.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, revokedByFeed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
    }

    [Theory]
    [InlineData("absent", "names no status_list_endpoint")]
    [InlineData("elsewhere", "not a URL on the broker's origin")]
    [InlineData("query", "not a URL on the broker's origin")]
    public async Task EndpointMissingOrOffOrigin_NothingFetched(string scenario, string reason)
    {
        // Arrange: metadata that names no list, or one on another server (which must never be asked).
        await using var broker = await StandInBroker.StartAsync();
        await using var elsewhere = await StandInBroker.StartAsync();
        broker.NewKey();
        broker.Metadata = () => scenario switch
        {
            "absent" => new { issuer = broker.Issuer, jwks_uri = broker.Issuer + "/.well-known/jwks.json" },
            "elsewhere" => new { issuer = broker.Issuer, jwks_uri = broker.Issuer + "/.well-known/jwks.json", status_list_endpoint = elsewhere.Issuer + StandInBroker.StatusListPath },
            _ => (object)new { issuer = broker.Issuer, jwks_uri = broker.Issuer + "/.well-known/jwks.json", status_list_endpoint = broker.Issuer + StandInBroker.StatusListPath + "?x=1" },
        };

        // Act
        await using var server = await StartAsync(broker);
        await Eventually(() => server.Logs.WithEvent("BrokerStatusListUnavailable").Any(), "the refusal", server);

        // Assert
        Assert.Contains(reason, (string)server.Logs.WithEvent("BrokerStatusListUnavailable").First().Fields["Reason"]!, StringComparison.Ordinal);
        Assert.Equal((0, 0), (broker.StatusListRequests, elsewhere.StatusListRequests));
    }

    [Fact]
    public async Task BadOptions_HostDoesNotStart()
    {
        // Arrange
        await using var broker = await StandInBroker.StartAsync();

        // Act + Assert
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestMcpServer.StartAsync(
            broker.BaseAddress, services: s => s.AddBrokerStatusList(o => (o.Capacity, o.MaxPollInterval) = (12, TimeSpan.FromMinutes(5)))));
        Assert.Contains("Capacity must be a multiple of 8", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxPollInterval must be", error.Message, StringComparison.Ordinal);
    }

    private static string TokenAt(StandInBroker broker, ECDsa key, string kid, long index) =>
        broker.Sign(key, kid, claims: c => c["status"] = StatusClaim(index, broker.StatusListUri));

    private static Dictionary<string, object> StatusClaim(long index, string uri) =>
        new() { ["status_list"] = new Dictionary<string, object> { ["idx"] = index, ["uri"] = uri } };

    /// <summary>The same claims with <c>alg: none</c> and no signature (RFC 7519 §6).</summary>
    private static string Unsigned(string jwt)
    {
        var header = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode("""{"alg":"none","typ":"statuslist+jwt"}""");
        return header + "." + jwt.Split('.')[1] + ".";
    }

    private static Task<TestMcpServer> StartAsync(
        StandInBroker broker,
        Action<BrokerTokenOptions>? configure = null,
        Action<StatusListOptions>? statusList = null,
        Action<IServiceCollection>? services = null,
        TimeProvider? clock = null) =>
        TestMcpServer.StartAsync(broker.BaseAddress, configure, s =>
        {
            if (clock is not null)
            {
                s.AddSingleton(clock);
            }

            s.AddBrokerStatusList(o =>
            {
                o.MaxPollInterval = TimeSpan.FromSeconds(1);
                o.InitialRetryDelay = TimeSpan.FromMilliseconds(100);
                o.MaxRetryDelay = TimeSpan.FromMilliseconds(500);
                statusList?.Invoke(o);
            });
            s.AddHealthChecks().AddBrokerStatusListHealthCheck();
            services?.Invoke(s);
        });

    private static Task WaitForListAsync(TestMcpServer server) =>
        Eventually(() => server.Services.GetRequiredService<StatusListRevocationCheck>().FetchedAt is not null, "the first list", server);

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
