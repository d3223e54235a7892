using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.IntegrationTests.Exchange;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.IntegrationTests.Admin;

/// <summary>The admin API over HTTP, with admins authenticated by workload identity and authorised by policy.</summary>
public sealed class AdminApiTests(ExchangeFixture fixture) : IClassFixture<ExchangeFixture>
{
    private async Task<string> IssueAsync(string path = "/agents/reader", string task = "task-42")
    {
        var form = ExchangeFixture.Request(fixture.Acme.Svid(path));
        form["task_id"] = task;
        var response = await fixture.ExchangeAsync(form);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        return response.AccessToken;
    }

    private static string GrantIdOf(string token) => new JsonWebToken(token).Id;

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? adminToken, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (adminToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await fixture.Host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private string AcmeAdmin => fixture.Acme.Svid("/admins/alice");

    private string GlobexAdmin => fixture.Globex.Svid("/admins/bob");

    private string GlobalAdmin => fixture.Acme.Svid("/platform/root");

    [Fact]
    public async Task GetGrant_TenantAdmin_SeesItsTenantsGrant()
    {
        var grantId = GrantIdOf(await IssueAsync());

        var (status, body) = await SendAsync(HttpMethod.Get, $"/admin/v1/grants/{grantId}", AcmeAdmin);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(grantId, body.GetProperty("grant_id").GetString());
        Assert.Equal("acme", body.GetProperty("tenant").GetString());
        Assert.Equal("active", body.GetProperty("status").GetString());
        Assert.Equal("invoices.read", body.GetProperty("capabilities")[0].GetString());
    }

    [Fact]
    public async Task GetGrant_OtherTenantsAdmin_GetsNotFound()
    {
        var grantId = GrantIdOf(await IssueAsync());

        var (status, body) = await SendAsync(HttpMethod.Get, $"/admin/v1/grants/{grantId}", GlobexAdmin);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("not_found", body.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-a-jwt")]
    [InlineData("agent")]          // a valid workload that is not an admin
    [InlineData("capability")]     // our own capability token is never an admin credential
    public async Task AdminApi_WithoutAnAdminIdentity_IsRefused(string? credential)
    {
        var capability = await IssueAsync();
        var token = credential switch
        {
            "agent" => fixture.Acme.Svid("/agents/reader"),
            "capability" => capability,
            _ => credential,
        };

        var (status, body) = await SendAsync(HttpMethod.Get, "/admin/v1/grants?tenant=acme", token);

        Assert.Equal(credential is "agent" ? HttpStatusCode.Forbidden : HttpStatusCode.Unauthorized, status);
        Assert.Equal(credential is "agent" ? "insufficient_scope" : "invalid_token", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task AdminApi_InvalidCredentialNamingATenant_WritesNothingUnderThatTenant()
    {
        // Arrange: a tenant name nobody declared (the in-memory store files events by tenant name).
        var tenant = "made-up-" + Guid.NewGuid().ToString("N")[..8];

        // Act
        var (status, _) = await SendAsync(HttpMethod.Get, $"/admin/v1/grants?tenant={tenant}", "not-a-jwt");
        var (auditStatus, _) = await SendAsync(HttpMethod.Get, $"/admin/v1/audit?tenant={tenant}", fixture.Acme.Svid("/agents/reader"));

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal(HttpStatusCode.Forbidden, auditStatus);
        Assert.DoesNotContain(fixture.Host.AuditTrail, e => e.Tenant == tenant);
        var store = fixture.Host.Services.GetRequiredService<Broker.Grants.IGrantStore>();
        Assert.Empty(await store.ReadAuditAsync(tenant, 1000, CancellationToken.None));
    }

    [Fact]
    public async Task ListGrants_ByTask_PagesThroughEveryGrant()
    {
        var task = "list-" + Guid.NewGuid().ToString("N");
        var issued = new HashSet<string>();
        for (var i = 0; i < 5; i++)
        {
            issued.Add(GrantIdOf(await IssueAsync(task: task)));
        }

        var seen = new HashSet<string>();
        string? cursor = null;
        do
        {
            var (status, body) = await SendAsync(HttpMethod.Get, $"/admin/v1/grants?tenant=acme&task_id={task}&limit=2" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"), AcmeAdmin);
            Assert.Equal(HttpStatusCode.OK, status);
            foreach (var grant in body.GetProperty("grants").EnumerateArray())
            {
                Assert.True(seen.Add(grant.GetProperty("grant_id").GetString()!), "a grant was listed twice");
            }

            cursor = body.GetProperty("next_cursor").ValueKind == JsonValueKind.Null ? null : body.GetProperty("next_cursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(issued, seen);
    }

    [Theory]
    [InlineData("/admin/v1/grants", HttpStatusCode.Forbidden)]                                    // no tenant: across tenants, global only
    [InlineData("/admin/v1/grants?tenant=acme&subject=x&task_id=y", HttpStatusCode.BadRequest)]  // both
    [InlineData("/admin/v1/grants?tenant=acme&limit=0", HttpStatusCode.BadRequest)]
    [InlineData("/admin/v1/grants?tenant=acme&limit=5000", HttpStatusCode.BadRequest)]
    [InlineData("/admin/v1/grants?tenant=globex", HttpStatusCode.Forbidden)]                     // another tenant
    [InlineData("/admin/v1/grants?tenant=nope", HttpStatusCode.Forbidden)]                       // no such tenant
    [InlineData("/admin/v1/audit", HttpStatusCode.Forbidden)]                                    // across tenants: global only
    public async Task AdminApi_BadOrForbiddenQueries_AreRefused(string path, HttpStatusCode expected)
    {
        var (status, _) = await SendAsync(HttpMethod.Get, path, AcmeAdmin);

        Assert.Equal(expected, status);
    }

    [Fact]
    public async Task Revoke_ByAdmin_IsVisibleAtOnceToIntrospectionAndReExchange_AndAudited()
    {
        var token = await IssueAsync();
        var grantId = GrantIdOf(token);
        Assert.True((await IntrospectAsync(token)).GetProperty("active").GetBoolean());

        var (status, body) = await SendAsync(HttpMethod.Post, $"/admin/v1/grants/{grantId}/revoke", AcmeAdmin, new { reason = "agent compromised" });
        var (again, againBody) = await SendAsync(HttpMethod.Post, $"/admin/v1/grants/{grantId}/revoke", AcmeAdmin, new { reason = "agent compromised" });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("revoked", body.GetProperty("result").GetString());
        Assert.Equal(HttpStatusCode.OK, again);
        Assert.Equal("already_revoked", againBody.GetProperty("result").GetString());

        // The very next request sees it.
        Assert.False((await IntrospectAsync(token)).GetProperty("active").GetBoolean());
        Assert.Equal("invalid_grant", (await fixture.ExchangeAsync(ExchangeFixture.Request(token))).Error);
        var (_, grant) = await SendAsync(HttpMethod.Get, $"/admin/v1/grants/{grantId}", AcmeAdmin);
        Assert.Equal("revoked", grant.GetProperty("status").GetString());
        Assert.Equal("spiffe://acme.test/admins/alice", grant.GetProperty("revocation").GetProperty("revoked_by").GetString());

        var (_, audit) = await SendAsync(HttpMethod.Get, "/admin/v1/audit?tenant=acme&limit=50", AcmeAdmin);
        Assert.Contains(audit.GetProperty("events").EnumerateArray(), e =>
            e.GetProperty("type").GetString() == "grant.revoked" && e.GetProperty("grant_id").GetString() == grantId
            && e.GetProperty("actor").GetString() == "spiffe://acme.test/admins/alice");
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"reason\":\"\"}")]
    [InlineData("{\"reason\":\"line\\nbreak\"}")]
    [InlineData("not json")]
    public async Task Revoke_WithoutAValidReason_IsRefused(string json)
    {
        var grantId = GrantIdOf(await IssueAsync());
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/grants/{grantId}/revoke")
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AcmeAdmin);

        using var response = await fixture.Host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Revoke_OversizedChunkedBody_IsRefusedWithoutReadingItAll()
    {
        var grantId = GrantIdOf(await IssueAsync());
        var body = new MemoryStream(System.Text.Encoding.UTF8.GetBytes("{\"reason\":\"" + new string('x', 200_000) + "\"}"));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/grants/{grantId}/revoke") { Content = new StreamContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TransferEncodingChunked = true;
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AcmeAdmin);

        using var response = await fixture.Host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var (_, grant) = await SendAsync(HttpMethod.Get, $"/admin/v1/grants/{grantId}", AcmeAdmin);
        Assert.Equal("active", grant.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Revoke_UnknownGrant_IsNotFound()
    {
        var (status, _) = await SendAsync(HttpMethod.Post, "/admin/v1/grants/AAAAAAAAAAAAAAAAAAAAAA/revoke", GlobalAdmin, new { reason = "x" });

        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Fact]
    public async Task BulkRevoke_ByTask_RevokesEveryGrantOfTheTask_AndOnlyThoseInTheTenant()
    {
        var task = "bulk-" + Guid.NewGuid().ToString("N");
        var tokens = new[] { await IssueAsync(task: task), await IssueAsync("/agents/other", task), await IssueAsync(task: "unrelated") };

        var (forbidden, _) = await SendAsync(HttpMethod.Post, "/admin/v1/grants/revoke", GlobexAdmin, new { tenant = "acme", task_id = task, reason = "cancelled" });
        var (status, body) = await SendAsync(HttpMethod.Post, "/admin/v1/grants/revoke", GlobalAdmin, new { tenant = "acme", task_id = task, reason = "cancelled" });

        Assert.Equal(HttpStatusCode.Forbidden, forbidden);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, body.GetProperty("revoked").GetInt32());
        Assert.False((await IntrospectAsync(tokens[0])).GetProperty("active").GetBoolean());
        Assert.False((await IntrospectAsync(tokens[1])).GetProperty("active").GetBoolean());
        Assert.True((await IntrospectAsync(tokens[2])).GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task Introspect_RequiresAWorkloadIdentityOfTheSameTenant()
    {
        var token = await IssueAsync();

        Assert.Equal(HttpStatusCode.Unauthorized, (await IntrospectRawAsync(token, null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await IntrospectRawAsync(token, token)).Status);
        Assert.False((await IntrospectAsync(token, fixture.Globex.Svid("/mcp/server"))).GetProperty("active").GetBoolean());
        var active = await IntrospectAsync(token);
        Assert.True(active.GetProperty("active").GetBoolean());
        Assert.Equal("invoices.read", active.GetProperty("scope").GetString());
        Assert.Equal("acme", active.GetProperty("tenant").GetString());
        Assert.False((await IntrospectAsync("garbage")).GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task RevokeEndpoint_HolderRevokesItsToken_OrItsWholeTask()
    {
        var task = "holder-" + Guid.NewGuid().ToString("N");
        var first = await IssueAsync(task: task);
        var second = await IssueAsync(task: task);
        var someoneElses = await IssueAsync("/agents/other", task);
        var single = await IssueAsync();

        Assert.Equal(HttpStatusCode.OK, await RevokeAsync(single));
        Assert.False((await IntrospectAsync(single)).GetProperty("active").GetBoolean());

        Assert.Equal(HttpStatusCode.OK, await RevokeAsync(first, revokeTask: true, owner: fixture.Acme.Svid("/agents/reader")));
        Assert.False((await IntrospectAsync(first)).GetProperty("active").GetBoolean());
        Assert.False((await IntrospectAsync(second)).GetProperty("active").GetBoolean());
        Assert.True((await IntrospectAsync(someoneElses)).GetProperty("active").GetBoolean());

        // RFC 7009 §2.2: invalid tokens get a 200 too, and nothing happens.
        Assert.Equal(HttpStatusCode.OK, await RevokeAsync("garbage"));
        Assert.Equal(HttpStatusCode.OK, await RevokeAsync(fixture.Acme.Svid("/agents/reader")));
    }

    private async Task<HttpStatusCode> RevokeAsync(string token, bool revokeTask = false, string? owner = null)
    {
        var form = new Dictionary<string, string> { ["token"] = token };
        if (revokeTask)
        {
            form["revoke_task"] = "true";
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth2/revoke") { Content = new FormUrlEncodedContent(form) };
        if (owner is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", owner);
        }

        using var response = await fixture.Host.Client.SendAsync(request);
        return response.StatusCode;
    }

    private async Task<JsonElement> IntrospectAsync(string token, string? caller = null)
    {
        var (status, body) = await IntrospectRawAsync(token, caller ?? fixture.Acme.Svid("/mcp/invoices"));
        Assert.Equal(HttpStatusCode.OK, status);
        return body;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> IntrospectRawAsync(string token, string? caller)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth2/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        if (caller is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", caller);
        }

        using var response = await fixture.Host.Client.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }
}
