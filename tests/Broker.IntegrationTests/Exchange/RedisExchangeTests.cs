using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.IntegrationTests.Exchange;

/// <summary>
/// The broker backed by a real redis-server: grants recorded in Redis, revocation visible on the
/// next request, and fail closed when Redis goes away in the middle of a run of exchanges.
/// </summary>
public sealed class RedisExchangeTests : IAsyncLifetime
{
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromMilliseconds(500);

    // "Never hangs", not a latency target.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(3);

    // Durable (fsync-always append-only file): a stop and start keeps every acknowledged write.
    private readonly RedisServerFixture _redis = new(durable: true, allowOverride: false);
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

    private IGrantStore Store => _fixture.Host.Services.GetRequiredService<IGrantStore>();

    [Fact]
    public async Task Exchange_RecordsTheGrantInRedis_AndAnAdminRevocationIsSeenOnTheNextRequest()
    {
        Assert.IsType<RedisGrantStore>(Store);
        var response = await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")));
        Assert.Equal(HttpStatusCode.OK, response.Status);
        var grantId = new JsonWebToken(response.AccessToken).Id;
        Assert.Equal(GrantState.Active, await Store.GetStateAsync(grantId, CancellationToken.None));

        using var revoke = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/grants/{grantId}/revoke")
        {
            Content = new StringContent("""{"reason":"compromised"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        revoke.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _fixture.Acme.Svid("/admins/alice"));
        using var revoked = await _fixture.Host.Client.SendAsync(revoke);
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);

        using var introspect = new HttpRequestMessage(HttpMethod.Post, "/oauth2/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = response.AccessToken }),
        };
        introspect.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _fixture.Acme.Svid("/mcp/invoices"));
        using var answer = await _fixture.Host.Client.SendAsync(introspect);
        using var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        Assert.False(body.RootElement.GetProperty("active").GetBoolean());
        Assert.Equal(GrantState.Revoked, await Store.GetStateAsync(grantId, CancellationToken.None));
    }

    [Fact]
    public async Task JwtBearer_RecordsTheGrantInRedisAsItsOwnTask_AndRevokingThatTaskRevokesIt()
    {
        // Arrange: two grants of the same workload by the jwt-bearer grant, neither naming a task.
        var first = await _fixture.ExchangeAsync(ExchangeFixture.JwtBearerRequest(_fixture.Acme.Svid("/agents/reader")));
        var second = await _fixture.ExchangeAsync(ExchangeFixture.JwtBearerRequest(_fixture.Acme.Svid("/agents/reader")));
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        var firstId = new JsonWebToken(first.AccessToken).Id;
        var secondId = new JsonWebToken(second.AccessToken).Id;

        // The record read back from Redis keeps the task (the grant ID) and the absence of a purpose.
        var grant = await Store.FindAsync(firstId, CancellationToken.None);
        Assert.Equal((firstId, "(none)", "spiffe://acme.test/agents/reader"), (grant!.TaskId, grant.Purpose, grant.Subject));

        // Act: an admin ends the first grant's task.
        using var revoke = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/grants/revoke")
        {
            Content = new StringContent($$"""{"tenant":"acme","task_id":"{{firstId}}","reason":"task over"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        revoke.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _fixture.Acme.Svid("/admins/alice"));
        using var revoked = await _fixture.Host.Client.SendAsync(revoke);

        // Assert: that grant alone.
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        using var body = JsonDocument.Parse(await revoked.Content.ReadAsStringAsync());
        Assert.Equal(1, body.RootElement.GetProperty("revoked").GetInt32());
        Assert.Equal(GrantState.Revoked, await Store.GetStateAsync(firstId, CancellationToken.None));
        Assert.Equal(GrantState.Active, await Store.GetStateAsync(secondId, CancellationToken.None));
    }

    [Fact]
    public async Task Exchange_RedisStopsMidRun_NoTokenWithoutItsGrant_NoRequestHangs_NotReady()
    {
        // Arrange: four clients exchanging continuously, each with a distinct subject token.
        var svids = Enumerable.Range(0, 50).Select(i => _fixture.Acme.Svid($"/agents/a{i}", lifetime: TimeSpan.FromMinutes(30))).ToArray();
        ConcurrentBag<(HttpStatusCode Status, string? Token, string? RetryAfter, TimeSpan Elapsed)> outcomes = [];
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = w; !stop.IsCancellationRequested; i += 4)
            {
                var watch = Stopwatch.StartNew();
                var response = await _fixture.ExchangeAsync(ExchangeFixture.Request(svids[i % svids.Length]));
                outcomes.Add((response.Status, response.Status == HttpStatusCode.OK ? response.AccessToken : null, response.RetryAfter, watch.Elapsed));
                if (response.Status != HttpStatusCode.OK)
                {
                    await Task.Delay(20, CancellationToken.None);
                }
            }
        }, CancellationToken.None)).ToList();
        await Eventually.HoldsAsync(() => Task.FromResult(outcomes.Count(o => o.Status == HttpStatusCode.OK) >= 40), TimeSpan.FromSeconds(30));

        // Act: Redis goes away under load, stays away, then comes back.
        await _redis.StopAsync();
        await Eventually.HoldsAsync(() => Task.FromResult(outcomes.Count(o => o.Status == HttpStatusCode.ServiceUnavailable) >= 5), TimeSpan.FromSeconds(30));
        using var readyWhileDown = await _fixture.Host.Client.GetAsync("/readyz");
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        await _redis.StartAsync();

        // Assert: only tokens or 503 + Retry-After, and nothing waited past the store timeout.
        Assert.All(outcomes, o => Assert.Contains(o.Status, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable }));
        Assert.All(outcomes.Where(o => o.Status == HttpStatusCode.ServiceUnavailable), o => Assert.Equal("1", o.RetryAfter));
        Assert.All(outcomes, o => Assert.True(o.Elapsed < OperationTimeout + Slack, $"A request took {o.Elapsed}."));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readyWhileDown.StatusCode);

        // Assert: every token a client received has its grant in Redis after the restart.
        await Eventually.HoldsAsync(async () => await Store.IsReadyAsync(CancellationToken.None), TimeSpan.FromSeconds(30));
        var issued = outcomes.Where(o => o.Token is not null).Select(o => new JsonWebToken(o.Token).Id).ToList();
        Assert.NotEmpty(issued);
        foreach (var grantId in issued)
        {
            Assert.Equal(GrantState.Active, await Store.GetStateAsync(grantId, CancellationToken.None));
        }

        using var readyAfter = await _fixture.Host.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, readyAfter.StatusCode);
    }

}
