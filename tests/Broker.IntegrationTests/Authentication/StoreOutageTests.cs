using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;

namespace Broker.IntegrationTests.Authentication;

/// <summary>
/// Redis stops in the middle of the test. Whatever needed it (authenticating a subject or actor token of this
/// broker, serving an admin or introspection request) answers 503 with <c>Retry-After</c> and the catalog body,
/// never 500; presenting a capability token where a workload credential is expected is refused without asking
/// Redis at all.
/// </summary>
public sealed class StoreOutageTests : IAsyncLifetime
{
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromMilliseconds(500);

    private readonly RedisServerFixture _redis = new(durable: false, allowOverride: false);
    private readonly ExchangeFixture _fixture = new();

    public async ValueTask InitializeAsync()
    {
        await _redis.InitializeAsync();
        _fixture.Configure = s =>
        {
            s.Configure<RedisOptions>(o =>
            {
                o.Configuration = _redis.Configuration;
                o.KeyPrefix = RedisServerFixture.NewKeyPrefix();
                o.OperationTimeout = OperationTimeout;
            });
        };
        await _fixture.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _fixture.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private static async Task AssertUnavailableAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("1", response.Headers.RetryAfter?.ToString());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("temporarily_unavailable", body.RootElement.GetProperty("error").GetString());
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string bearer, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return _fixture.Host.Client.SendAsync(request);
    }

    private static FormUrlEncodedContent Introspect(string token) => new(new Dictionary<string, string> { ["token"] = token });

    [Fact]
    public async Task RedisStops_EveryAuthenticationThatNeedsIt_Answers503WithRetryAfter()
    {
        // Arrange: a capability token recorded while Redis was up.
        var issued = await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")));
        Assert.Equal(HttpStatusCode.OK, issued.Status);
        var capability = issued.AccessToken;

        // Act: Redis goes away.
        await _redis.StopAsync();

        // Assert: the capability token as the subject of a re-exchange (its grant must be read) → 503.
        var reExchange = await _fixture.ExchangeAsync(ExchangeFixture.Request(capability));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, reExchange.Status);
        Assert.Equal("1", reExchange.RetryAfter);
        Assert.Equal("temporarily_unavailable", reExchange.Error);

        // Assert: the capability token as the actor of a delegation → 503.
        var delegation = ExchangeFixture.Request(_fixture.Acme.Svid("/agents/billing"), "invoices.write");
        delegation["actor_token"] = capability;
        delegation["actor_token_type"] = "urn:ietf:params:oauth:token-type:access_token";
        var delegated = await _fixture.ExchangeAsync(delegation);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, delegated.Status);
        Assert.Equal("1", delegated.RetryAfter);

        // Assert: an admin and an introspection caller authenticate (no Redis needed), then the store fails → 503.
        using (var list = await SendAsync(HttpMethod.Get, "/admin/v1/grants?tenant=acme", _fixture.Acme.Svid("/admins/alice")))
        {
            await AssertUnavailableAsync(list);
        }

        using (var grant = await SendAsync(HttpMethod.Get, "/admin/v1/grants/AAAA.AAAAAAAAAAAAAAAAAAAAAA", _fixture.Acme.Svid("/admins/alice")))
        {
            await AssertUnavailableAsync(grant);
        }

        using (var introspection = await SendAsync(HttpMethod.Post, "/oauth2/introspect", _fixture.Acme.Svid("/mcp/invoices"), Introspect(capability)))
        {
            await AssertUnavailableAsync(introspection);
        }

        // Assert: a capability token offered as the admin's or introspection caller's credential is refused
        // (401) before any store lookup, so the outage does not turn it into a 500 either.
        using (var admin = await SendAsync(HttpMethod.Get, "/admin/v1/grants?tenant=acme", capability))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, admin.StatusCode);
        }

        using (var caller = await SendAsync(HttpMethod.Post, "/oauth2/introspect", capability, Introspect(capability)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, caller.StatusCode);
        }
    }
}
