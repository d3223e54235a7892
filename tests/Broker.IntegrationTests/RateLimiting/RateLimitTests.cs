using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.Audit;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.Policy;
using Broker.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.IntegrationTests.RateLimiting;

/// <summary>
/// Rate limits over real Kestrel: per workload identity and per tenant at the token endpoint (limits from policy,
/// changed by a reload, or from <c>Broker:RateLimits</c>), and failed authentications per client address on every
/// endpoint that authenticates. Limits are per hour, so no bucket refills during a test: no clock is involved.
/// </summary>
public sealed class RateLimitTests : IAsyncLifetime
{
    private readonly ExchangeFixture _fixture = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _fixture.DisposeAsync();

    private async Task StartAsync(Action<Dictionary<string, string?>>? configure = null)
    {
        _fixture.Configure = configure;
        await _fixture.InitializeAsync();
    }

    /// <summary>Adds <c>rate_limits</c> to a tenant's file and reloads the policy now.</summary>
    private void SetRateLimits(string file, string limits)
    {
        var path = Path.Combine(_fixture.Directory.Path, "policy", file);
        var text = File.ReadAllText(path);
        var start = text.IndexOf("\nrate_limits:", StringComparison.Ordinal);
        File.WriteAllText(path, (start < 0 ? text : text[..start]) + "\nrate_limits:\n" + limits);
        var result = _fixture.Host.Services.GetRequiredService<IPolicyProvider>().Reload();
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
    }

    private Task<ExchangeResponse> ExchangeAsync(string path) => _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Acme.Svid(path)));

    private Task<ExchangeResponse> GlobexExchangeAsync(string path) =>
        _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Globex.Svid(path), resource: ExchangeFixture.GlobexInvoicesResource));

    private static void AssertLimited(ExchangeResponse response, TimeSpan period)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.Status);
        Assert.Equal("slow_down", response.Error);
        Assert.False(string.IsNullOrEmpty(response.Json.GetProperty("error_description").GetString()));
        Assert.Equal("no-store", response.CacheControl);
        var retryAfter = int.Parse(response.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, (int)period.TotalSeconds);
    }

    [Fact]
    public async Task PerIdentity_FromPolicy_429WithRetryAfterAndJson_Audited_OtherIdentityUnaffected()
    {
        // Arrange
        await StartAsync();
        SetRateLimits("acme.yaml", "  per_identity: 3/h\n");

        // Act
        var allowed = new List<ExchangeResponse>();
        for (var i = 0; i < 3; i++)
        {
            allowed.Add(await ExchangeAsync("/agents/reader"));
        }

        var limited = await ExchangeAsync("/agents/reader");
        var other = await ExchangeAsync("/agents/other");

        // Assert
        Assert.All(allowed, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        AssertLimited(limited, TimeSpan.FromHours(1));
        Assert.Equal(HttpStatusCode.OK, other.Status);
        Assert.Single(_fixture.Host.AuditTrail, e => e.Type == AuditEventTypes.TokenExchange && e.Reason == "rate_limited" && e.Error == "slow_down");
    }

    [Fact]
    public async Task PerIdentity_PolicyReload_TheNewLimitAppliesAtOnce()
    {
        // Arrange: the identity has used up a limit of 2.
        await StartAsync();
        SetRateLimits("acme.yaml", "  per_identity: 2/h\n");
        Assert.Equal(HttpStatusCode.OK, (await ExchangeAsync("/agents/reader")).Status);
        Assert.Equal(HttpStatusCode.OK, (await ExchangeAsync("/agents/reader")).Status);
        AssertLimited(await ExchangeAsync("/agents/reader"), TimeSpan.FromHours(1));

        // Act: policy now says 4 per hour.
        SetRateLimits("acme.yaml", "  per_identity: 4/h\n");
        var afterReload = new List<ExchangeResponse>();
        for (var i = 0; i < 5; i++)
        {
            afterReload.Add(await ExchangeAsync("/agents/reader"));
        }

        // Assert: a new limit is a new bucket.
        Assert.All(afterReload.Take(4), r => Assert.Equal(HttpStatusCode.OK, r.Status));
        AssertLimited(afterReload[4], TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task PerTenant_FromPolicy_SharedByItsIdentities_OtherTenantUnaffected()
    {
        // Arrange
        await StartAsync();
        SetRateLimits("globex.yaml", "  per_tenant: 3/h\n  per_identity: off\n");

        // Act: three identities of globex use the tenant's three exchanges, a fourth finds none left.
        var first = await GlobexExchangeAsync("/agents/a");
        var second = await GlobexExchangeAsync("/agents/b");
        var third = await GlobexExchangeAsync("/agents/a");
        var fourth = await GlobexExchangeAsync("/agents/c");
        var acme = await ExchangeAsync("/agents/reader");

        // Assert
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(HttpStatusCode.OK, third.Status);
        AssertLimited(fourth, TimeSpan.FromHours(1));
        Assert.Equal(HttpStatusCode.OK, acme.Status);
    }

    [Fact]
    public async Task PerIdentity_OverLimit_DoesNotSpendItsTenantsBudget()
    {
        // Arrange: identity limit 1, tenant limit 3.
        await StartAsync();
        SetRateLimits("acme.yaml", "  per_identity: 1/h\n  per_tenant: 3/h\n");

        // Act: one identity keeps asking after its one exchange.
        Assert.Equal(HttpStatusCode.OK, (await ExchangeAsync("/agents/reader")).Status);
        for (var i = 0; i < 5; i++)
        {
            AssertLimited(await ExchangeAsync("/agents/reader"), TimeSpan.FromHours(1));
        }

        // Assert: the tenant's two remaining exchanges are still there for others.
        Assert.Equal(HttpStatusCode.OK, (await ExchangeAsync("/agents/a")).Status);
        Assert.Equal(HttpStatusCode.OK, (await ExchangeAsync("/agents/b")).Status);
        AssertLimited(await ExchangeAsync("/agents/c"), TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task PerIdentity_BrokerDefault_AppliesWherePolicySetsNone()
    {
        // Arrange
        await StartAsync(s => s.Configure<RateLimitOptions>(o => o.PerIdentity = "2/h"));

        // Act + Assert
        Assert.Equal(HttpStatusCode.OK, (await ExchangeAsync("/agents/reader")).Status);
        Assert.Equal(HttpStatusCode.OK, (await ExchangeAsync("/agents/reader")).Status);
        AssertLimited(await ExchangeAsync("/agents/reader"), TimeSpan.FromHours(1));

        // A tenant that turns its own limit off is not limited by the default.
        SetRateLimits("acme.yaml", "  per_identity: off\n");
        Assert.Equal(HttpStatusCode.OK, (await ExchangeAsync("/agents/reader")).Status);
    }

    [Fact]
    public async Task FailedAuthentication_AtTheTokenEndpoint_BlocksTheAddressEverywhere_BeforeAnyValidation()
    {
        // Arrange
        await StartAsync(s => s.Configure<RateLimitOptions>(o => o.FailedAuthentication.Limit = 3));

        // Act: three refused subject tokens.
        for (var i = 0; i < 3; i++)
        {
            var refused = await _fixture.ExchangeAsync(ExchangeFixture.Request("not-a-token-" + i));
            Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
            Assert.Equal("invalid_grant", refused.Error);
        }

        // Assert: now even a valid token from this address is not looked at, here or at the admin API.
        var valid = await ExchangeAsync("/agents/reader");
        Assert.Equal(HttpStatusCode.TooManyRequests, valid.Status);
        Assert.Equal("slow_down", valid.Error);
        Assert.Equal(20, int.Parse(valid.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture)); // one failure refills in 60 s / 3
        using var admin = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/grants?tenant=acme");
        admin.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _fixture.Acme.Svid("/admins/alice"));
        using var adminResponse = await _fixture.Host.Client.SendAsync(admin);
        Assert.Equal(HttpStatusCode.TooManyRequests, adminResponse.StatusCode);
        Assert.NotNull(adminResponse.Headers.RetryAfter);
        using var body = JsonDocument.Parse(await adminResponse.Content.ReadAsStringAsync());
        Assert.Equal("slow_down", body.RootElement.GetProperty("error").GetString());

        // The refusals were exchanges (audited); the blocked requests never became one, so a blocked address
        // cannot make the broker write audit events either.
        Assert.Equal(3, _fixture.Host.AuditTrail.Count(e => e.Type == AuditEventTypes.TokenExchange && e.Outcome == AuditOutcome.Denied));
    }

    [Fact]
    public async Task PerIdentity_OneBudget_ForTheTokenExchangeAndTheJwtBearerGrant()
    {
        // Arrange
        await StartAsync();
        SetRateLimits("acme.yaml", "  per_identity: 2/h\n");

        // Act: one exchange and one jwt-bearer grant use the identity's two.
        var exchanged = await ExchangeAsync("/agents/reader");
        var bearer = await _fixture.ExchangeAsync(ExchangeFixture.JwtBearerRequest(_fixture.Acme.Svid("/agents/reader")));
        var bearerAgain = await _fixture.ExchangeAsync(ExchangeFixture.JwtBearerRequest(_fixture.Acme.Svid("/agents/reader")));
        var exchangedAgain = await ExchangeAsync("/agents/reader");

        // Assert
        Assert.Equal(HttpStatusCode.OK, exchanged.Status);
        Assert.Equal(HttpStatusCode.OK, bearer.Status);
        AssertLimited(bearerAgain, TimeSpan.FromHours(1));
        AssertLimited(exchangedAgain, TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task FailedAuthentication_RefusedAssertions_CountLikeRefusedSubjectTokens()
    {
        // Arrange
        await StartAsync(s => s.Configure<RateLimitOptions>(o => o.FailedAuthentication.Limit = 3));

        // Act: a refused subject token, a refused assertion, and an assertion that is a token of this broker.
        var refusedSubject = await _fixture.ExchangeAsync(ExchangeFixture.Request("not-a-token"));
        var refusedAssertion = await _fixture.ExchangeAsync(ExchangeFixture.JwtBearerRequest("not-a-token-either"));
        var ownToken = TestKey.CreateEs256().Sign(new Dictionary<string, object> { ["iss"] = BrokerTestHost.Issuer, ["sub"] = "spiffe://acme.test/agents/reader", ["exp"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds() }, typ: "at+jwt");
        var brokerToken = await _fixture.ExchangeAsync(ExchangeFixture.JwtBearerRequest(ownToken));

        // Assert: refused as invalid_grant, then the address is blocked for either grant.
        Assert.Equal(["invalid_grant", "invalid_grant", "invalid_grant"], new[] { refusedSubject.Error, refusedAssertion.Error, brokerToken.Error });
        var valid = await _fixture.ExchangeAsync(ExchangeFixture.JwtBearerRequest(_fixture.Acme.Svid("/agents/reader")));
        Assert.Equal(HttpStatusCode.TooManyRequests, valid.Status);
        Assert.Equal("slow_down", valid.Error);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await ExchangeAsync("/agents/reader")).Status);
    }

    [Fact]
    public async Task FailedAuthentication_AdminAndIntrospection401s_CountToo()
    {
        // Arrange
        await StartAsync(s => s.Configure<RateLimitOptions>(o => o.FailedAuthentication.Limit = 3));

        // Act: three refused credentials at the admin API and introspection.
        foreach (var path in new[] { "/admin/v1/grants?tenant=acme", "/admin/v1/audit", "/oauth2/introspect" })
        {
            using var request = new HttpRequestMessage(path.StartsWith("/oauth2", StringComparison.Ordinal) ? HttpMethod.Post : HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _fixture.Acme.Svid("/admins/alice", lifetime: TimeSpan.FromMinutes(-10)));
            using var response = await _fixture.Host.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        // Assert: a valid credential, and a valid subject token, now wait.
        using var introspect = new HttpRequestMessage(HttpMethod.Post, "/oauth2/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = "x" }),
        };
        introspect.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _fixture.Acme.Svid("/mcp/invoices"));
        using var limited = await _fixture.Host.Client.SendAsync(introspect);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await ExchangeAsync("/agents/reader")).Status);
    }
}
