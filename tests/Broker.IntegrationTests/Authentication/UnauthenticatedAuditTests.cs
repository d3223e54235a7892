using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.Audit;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Authentication;

/// <summary>
/// An unauthenticated request (or an authenticated one that names a tenant policy does not know) writes
/// nothing under the tenant it names: no audit stream, no key of that tenant's routing tag in Redis. Its
/// attempts are logged and audited without a tenant, once per client address per window.
/// </summary>
public sealed class UnauthenticatedAuditTests(RedisServerFixture redis) : IAsyncLifetime
{
    private readonly ExchangeFixture _fixture = new();
    private readonly CapturingLoggerProvider _logs = new();
    private readonly string _keyPrefix = RedisServerFixture.NewKeyPrefix();
    private ConnectionMultiplexer _connection = null!;

    public async ValueTask InitializeAsync()
    {
        _fixture.Configure = s =>
        {
            s.Configure<RedisOptions>(o =>
            {
                o.Configuration = redis.Configuration;
                o.KeyPrefix = _keyPrefix;
            });
        };
        _fixture.Services = services => services.AddSingleton<ILoggerProvider>(_logs);
        await _fixture.InitializeAsync();
        _connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _fixture.DisposeAsync();
    }

    /// <summary>A tenant name no policy declares, with a routing tag of its own (not the tag of the tenant-less stream).</summary>
    private static string MadeUpTenant()
    {
        while (true)
        {
            var name = "x" + Guid.NewGuid().ToString("N")[..12];
            if (GrantId.RoutingTag(name) != GrantId.RoutingTag(string.Empty) && GrantId.RoutingTag(name) != GrantId.RoutingTag("acme") && GrantId.RoutingTag(name) != GrantId.RoutingTag("globex"))
            {
                return name;
            }
        }
    }

    /// <summary>Every key of this broker in the real Redis, by SCAN.</summary>
    private async Task<List<string>> KeysAsync()
    {
        var server = _connection.GetServers().Single();
        List<string> keys = [];
        await foreach (var key in server.KeysAsync(pattern: _keyPrefix + "*", pageSize: 1000))
        {
            keys.Add(key.ToString());
        }

        return keys;
    }

    private async Task<(HttpStatusCode Status, HttpResponseMessage Response, string Body)> GetAsync(string path, string? bearer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        var response = await _fixture.Host.Client.SendAsync(request);
        return (response.StatusCode, response, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("invalid")]       // not a token at all
    [InlineData("expired")]       // a workload token that no longer validates
    [InlineData("none")]          // no credential
    public async Task ListGrants_Unauthenticated_WritesNothingUnderTheNamedTenant(string credential)
    {
        // Arrange: a tenant name the caller made up, and the keys the broker holds before.
        var tenant = MadeUpTenant();
        var token = credential switch
        {
            "invalid" => "not-a-token",
            "expired" => _fixture.Acme.Svid("/admins/alice", lifetime: TimeSpan.FromMinutes(-5)),
            _ => null,
        };

        // Act
        var (status, response, body) = await GetAsync($"/admin/v1/grants?tenant={tenant}", token);

        // Assert: 401 with the RFC 6750 challenge and the catalog body.
        using (response)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.Equal("Bearer error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
            Assert.Equal("invalid_token", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
        }

        // Assert: nothing under the made-up tenant's tag, in Redis and in the store's own reading of it.
        var tag = "{" + GrantId.RoutingTag(tenant) + "}";
        Assert.DoesNotContain(await KeysAsync(), k => k.Contains(tag, StringComparison.Ordinal));
        var store = _fixture.Host.Services.GetRequiredService<IGrantStore>();
        Assert.Empty(await store.ReadAuditAsync(tenant, 100, CancellationToken.None));
    }

    [Fact]
    public async Task AdminRoutes_AuthenticatedButUnknownTenant_ForbiddenAndNothingUnderIt()
    {
        // Arrange: a tenant admin, a global admin and an ordinary workload, each naming a tenant policy does not know.
        var tenant = MadeUpTenant();
        string[] callers = [_fixture.Acme.Svid("/admins/alice"), _fixture.Acme.Svid("/platform/root"), _fixture.Acme.Svid("/agents/reader")];

        foreach (var caller in callers)
        {
            // Act
            var (listStatus, list, _) = await GetAsync($"/admin/v1/grants?tenant={tenant}", caller);
            var (auditStatus, audit, _) = await GetAsync($"/admin/v1/audit?tenant={tenant}", caller);
            using var bulk = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/grants/revoke")
            {
                Content = System.Net.Http.Json.JsonContent.Create(new { tenant, reason = "cleanup" }),
            };
            bulk.Headers.Authorization = new AuthenticationHeaderValue("Bearer", caller);
            using var bulkResponse = await _fixture.Host.Client.SendAsync(bulk);
            list.Dispose();
            audit.Dispose();

            // Assert
            Assert.Equal(HttpStatusCode.Forbidden, listStatus);
            Assert.Equal(HttpStatusCode.Forbidden, auditStatus);
            Assert.Equal(HttpStatusCode.Forbidden, bulkResponse.StatusCode);
        }

        var tag = "{" + GrantId.RoutingTag(tenant) + "}";
        Assert.DoesNotContain(await KeysAsync(), k => k.Contains(tag, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unauthenticated_IsLoggedAndAuditedWithoutTenant_OncePerAddressPerWindow()
    {
        // Act: five refused requests from one address, each naming another tenant.
        for (var i = 0; i < 5; i++)
        {
            var (status, response, _) = await GetAsync($"/admin/v1/grants?tenant={MadeUpTenant()}", "garbage-" + i);
            response.Dispose();
            Assert.Equal(HttpStatusCode.Unauthorized, status);
        }

        // Assert: one warning and one tenant-less audit event for the address, with the precise reason.
        Assert.Single(_logs.Entries, e => e.EventId.Name == "Unauthenticated" && e.Level == LogLevel.Warning);
        var (auditStatus, auditResponse, body) = await GetAsync("/admin/v1/audit?limit=1000", _fixture.Acme.Svid("/platform/root"));
        auditResponse.Dispose();
        Assert.Equal(HttpStatusCode.OK, auditStatus);
        var refused = JsonDocument.Parse(body).RootElement.GetProperty("events").EnumerateArray()
            .Where(e => e.GetProperty("type").GetString() == "admin.grants.list" && e.GetProperty("outcome").GetString() == "denied")
            .ToList();
        var single = Assert.Single(refused);
        Assert.Equal("subject.malformed", single.GetProperty("reason").GetString());
        Assert.False(single.TryGetProperty("tenant", out var t) && t.ValueKind == JsonValueKind.String);
    }

    [Fact]
    public async Task Forbidden_KnownTenant_IsAuditedInThatTenant()
    {
        // Act: an authenticated workload of acme that is not its admin.
        var (status, response, _) = await GetAsync("/admin/v1/grants?tenant=acme", _fixture.Acme.Svid("/agents/reader"));
        response.Dispose();

        // Assert
        Assert.Equal(HttpStatusCode.Forbidden, status);
        var events = await _fixture.Host.Services.GetRequiredService<IGrantStore>().ReadAuditAsync("acme", 100, CancellationToken.None);
        Assert.Contains(events, e => e.Type == "admin.grants.list" && e.Outcome == AuditOutcome.Denied && e.Actor == "spiffe://acme.test/agents/reader");
    }
}
