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

/// <summary>The broker on a real three-master Redis Cluster: exchange, list, revoke, introspect, across tenants.</summary>
public sealed class RedisClusterExchangeTests(RedisClusterFixture cluster) : IAsyncLifetime
{
    private readonly ExchangeFixture _fixture = new();

    public async ValueTask InitializeAsync()
    {
        _fixture.Configure = s =>
        {
            s.Configure<RedisOptions>(o =>
            {
                o.Configuration = cluster.Configuration;
                o.KeyPrefix = RedisServerFixture.NewKeyPrefix();
            });
        };
        await _fixture.InitializeAsync();
    }

    public ValueTask DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task ExchangeListRevokeIntrospect_OnACluster_InTwoTenants()
    {
        var store = _fixture.Host.Services.GetRequiredService<IGrantStore>();
        Assert.IsType<RedisGrantStore>(store);
        var acme = await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")));
        var globex = await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Globex.Svid("/agents/reader"), resource: ExchangeFixture.GlobexInvoicesResource));
        Assert.Equal(HttpStatusCode.OK, acme.Status);
        Assert.Equal(HttpStatusCode.OK, globex.Status);

        var acmeGrant = new JsonWebToken(acme.AccessToken).Id;
        var globexGrant = new JsonWebToken(globex.AccessToken).Id;
        var acmePage = await store.ListAsync(GrantQuery.ForTenant("acme"), null, 100, CancellationToken.None);
        Assert.Contains(acmePage.Grants, g => g.Id == acmeGrant);
        Assert.DoesNotContain(acmePage.Grants, g => g.Id == globexGrant);

        using var revoke = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/grants/{globexGrant}/revoke")
        {
            Content = new StringContent("""{"reason":"cluster test"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        revoke.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _fixture.Acme.Svid("/platform/root"));
        using var revoked = await _fixture.Host.Client.SendAsync(revoke);
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);

        Assert.Equal(GrantState.Revoked, await store.GetStateAsync(globexGrant, CancellationToken.None));
        Assert.Equal(GrantState.Active, await store.GetStateAsync(acmeGrant, CancellationToken.None));
        using var introspect = new HttpRequestMessage(HttpMethod.Post, "/oauth2/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = globex.AccessToken }),
        };
        introspect.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _fixture.Globex.Svid("/mcp/invoices"));
        using var answer = await _fixture.Host.Client.SendAsync(introspect);
        using var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        Assert.False(body.RootElement.GetProperty("active").GetBoolean());
    }
}
