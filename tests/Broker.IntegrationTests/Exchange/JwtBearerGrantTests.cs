using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.Audit;
using Broker.Errors;
using Broker.Grants;
using Broker.IntegrationTests.Infrastructure;
using Broker.Subjects;
using Jose;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.IntegrationTests.Exchange;

/// <summary>
/// The RFC 7523 jwt-bearer grant, as MCP SDK clients of the Workload Identity Federation extension send it, over real
/// Kestrel: it mints what the token exchange mints for the same workload, through the same validation, policy, grant
/// record and audit, and refuses what the exchange refuses with the same errors.
/// </summary>
public sealed class JwtBearerGrantTests(ExchangeFixture fixture) : IClassFixture<ExchangeFixture>
{
    private const string TokenEndpointAudience = BrokerTestHost.Issuer + "/oauth2/token";

    private IGrantStore Store => fixture.Host.Services.GetRequiredService<IGrantStore>();

    /// <summary>The claims of a token verified with jose-jwt against the published JWKS (no code shared with the broker).</summary>
    private async Task<(IDictionary<string, object> Header, Dictionary<string, object> Claims)> VerifyAsync(string token)
    {
        var jwks = await fixture.Host.Client.GetStringAsync("/.well-known/jwks.json");
        var header = JWT.Headers(token);
        var key = JwkSet.FromJson(jwks, JWT.DefaultSettings.JsonMapper).Keys.Single(k => k.KeyId == (string)header["kid"]);
        return (header, JWT.Decode<Dictionary<string, object>>(token, key, JwsAlgorithm.ES256));
    }

    [Fact]
    public async Task JwtBearer_JwtSvidAssertion_MintsWhatTheExchangeMints()
    {
        // Arrange: one JWT-SVID, presented once by each grant with the same target, scope and task context.
        var svid = fixture.Acme.Svid("/agents/reader", claims: c => c["jti"] = Guid.NewGuid().ToString());
        var bearerForm = ExchangeFixture.JwtBearerRequest(svid);
        bearerForm["task_id"] = "task-42";
        bearerForm["purpose"] = "billing";

        // Act
        var exchanged = await fixture.ExchangeAsync(ExchangeFixture.Request(svid));
        var bearer = await fixture.ExchangeAsync(bearerForm);

        // Assert: RFC 6749 §5.1 answer, never cached, with no RFC 8693 issued_token_type.
        Assert.Equal(HttpStatusCode.OK, exchanged.Status);
        Assert.Equal(HttpStatusCode.OK, bearer.Status);
        Assert.Equal("no-store", bearer.CacheControl);
        Assert.Equal("Bearer", bearer.Json.GetProperty("token_type").GetString());
        Assert.Equal(300, bearer.Json.GetProperty("expires_in").GetInt64());
        Assert.Equal("invoices.read", bearer.Json.GetProperty("scope").GetString());
        Assert.False(bearer.Json.TryGetProperty("issued_token_type", out _));
        Assert.False(bearer.Json.TryGetProperty("refresh_token", out _));
        Assert.True(exchanged.Json.TryGetProperty("issued_token_type", out _));

        // Assert: the same token but for its own grant ID, times and status list index (the list is the same).
        var (header, claims) = await VerifyAsync(bearer.AccessToken);
        var (exchangedHeader, exchangedClaims) = await VerifyAsync(exchanged.AccessToken);
        Assert.Equal("at+jwt", header["typ"]);
        Assert.Equal(exchangedHeader["kid"], header["kid"]);
        string[] perToken = ["jti", "iat", "nbf", "exp", "status"];
        Assert.Equal(StatusListUri(exchangedClaims), StatusListUri(claims));
        Assert.Equal(
            JsonSerializer.Serialize(exchangedClaims.Where(c => !perToken.Contains(c.Key)).OrderBy(c => c.Key, StringComparer.Ordinal)),
            JsonSerializer.Serialize(claims.Where(c => !perToken.Contains(c.Key)).OrderBy(c => c.Key, StringComparer.Ordinal)));
        Assert.Equal("spiffe://acme.test/agents/reader", claims["sub"]);
        Assert.Equal("spiffe://acme.test/agents/reader", claims["client_id"]);
        Assert.Equal(ExchangeFixture.InvoicesResource, claims["aud"]);
        Assert.Equal("acme", claims["tenant"]);
        Assert.False(claims.ContainsKey("act"));
        Assert.Equal(300L, Convert.ToInt64(claims["exp"]) - Convert.ToInt64(claims["iat"]));
        Assert.NotEqual(exchangedClaims["jti"], claims["jti"]);

        // Assert: the grant was recorded under the token's jti, with its one issuance event.
        var grantId = (string)claims["jti"];
        var grant = await Store.FindAsync(grantId, CancellationToken.None);
        Assert.NotNull(grant);
        Assert.Equal(("acme", "spiffe://acme.test/agents/reader", "task-42", "billing"), (grant.Tenant, grant.Subject, grant.TaskId, grant.Purpose));
        Assert.Equal(["invoices.read"], grant.Capabilities);
        Assert.Equal(ExchangeFixture.InvoicesResource, grant.Audience);
        Assert.Null(grant.ParentGrantId);
        var issued = Assert.Single(fixture.Host.AuditTrail, e => e.GrantId == grantId);
        Assert.Equal(AuditEventTypes.TokenExchange, issued.Type);
        Assert.Equal(AuditOutcome.Allowed, issued.Outcome);
        Assert.Equal(TokenHash.Of(svid).ToString(), issued.SubjectTokenSha256);
        Assert.Equal(("spiffe://acme.test/agents/reader", "acme", "task-42"), (issued.Subject, issued.Tenant, issued.TaskId));
        Assert.DoesNotContain(svid, JsonSerializer.Serialize(issued), StringComparison.Ordinal);
    }

    [Fact]
    public async Task JwtBearer_KubernetesServiceAccountToken_MapsClaimsToTheWorkloadIdentity()
    {
        var token = fixture.Oidc.ServiceAccountToken("payments", "invoice-bot");

        var response = await fixture.ExchangeAsync(ExchangeFixture.JwtBearerRequest(token));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var (_, claims) = await VerifyAsync(response.AccessToken);
        Assert.Equal("spiffe://k8s.acme.test/ns/payments/sa/invoice-bot", claims["sub"]);
        Assert.Equal(ExchangeFixture.InvoicesResource, claims["aud"]);
        Assert.Equal("acme", claims["tenant"]);
        Assert.Equal("invoices.read", claims["scope"]);
    }

    [Fact]
    public async Task JwtBearer_WithoutTaskContext_TheGrantIsItsOwnTask_AndDeclaresNoPurpose()
    {
        // Act: what an MCP SDK client sends, nothing more.
        var response = await fixture.ExchangeAsync(ExchangeFixture.JwtBearerRequest(fixture.Acme.Svid("/agents/reader")));

        // Assert: task_id is the grant ID, in the token, the grant and the audit event.
        Assert.Equal(HttpStatusCode.OK, response.Status);
        var (_, claims) = await VerifyAsync(response.AccessToken);
        var grantId = (string)claims["jti"];
        Assert.Equal(grantId, claims["task_id"]);
        Assert.Equal("(none)", claims["purpose"]);
        var grant = await Store.FindAsync(grantId, CancellationToken.None);
        Assert.Equal((grantId, "(none)"), (grant!.TaskId, grant.Purpose));
        Assert.Equal(grantId, Assert.Single(fixture.Host.AuditTrail, e => e.GrantId == grantId).TaskId);

        // Assert: the admin API finds it, alone, by that task.
        using var list = new HttpRequestMessage(HttpMethod.Get, $"/admin/v1/grants?tenant=acme&task_id={grantId}");
        list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Acme.Svid("/admins/alice"));
        using var listed = await fixture.Host.Client.SendAsync(list);
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        using var page = JsonDocument.Parse(await listed.Content.ReadAsStringAsync());
        var only = Assert.Single(page.RootElement.GetProperty("grants").EnumerateArray());
        Assert.Equal(grantId, only.GetProperty("grant_id").GetString());
    }

    [Fact]
    public async Task JwtBearer_PolicyRequiringAPurpose_RefusesWithoutOne_WithTheExchangesError()
    {
        // Arrange: billing may write invoices only with purpose=billing.
        var withoutPurpose = ExchangeFixture.JwtBearerRequest(fixture.Acme.Svid("/agents/billing"), scope: "invoices.write");
        var otherPurpose = ExchangeFixture.Request(fixture.Acme.Svid("/agents/billing"), scope: "invoices.write");
        otherPurpose["purpose"] = "marketing";
        var withPurpose = ExchangeFixture.JwtBearerRequest(fixture.Acme.Svid("/agents/billing"), scope: "invoices.write");
        withPurpose["purpose"] = "billing";

        // Act
        var refused = await fixture.ExchangeAsync(withoutPurpose);
        var exchangeRefused = await fixture.ExchangeAsync(otherPurpose);
        var allowed = await fixture.ExchangeAsync(withPurpose);

        // Assert: the exchange's refusal, word for word, audited with the subject and its tenant.
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("invalid_scope", refused.Error);
        Assert.Equal(exchangeRefused.Body, refused.Body);
        Assert.Equal(ErrorCatalog.ScopeNotAllowed.Description, refused.Json.GetProperty("error_description").GetString());
        var audited = fixture.Host.AuditTrail.Last(e => e.SubjectTokenSha256 == TokenHash.Of(withoutPurpose["assertion"]).ToString());
        Assert.Equal(("policy.scope_not_allowed", "spiffe://acme.test/agents/billing", "acme"), (audited.Reason, audited.Subject, audited.Tenant));
        Assert.Null(audited.GrantId);

        // With the purpose it names, the same grant gets its token.
        Assert.Equal(HttpStatusCode.OK, allowed.Status);
        Assert.Equal("billing", (await VerifyAsync(allowed.AccessToken)).Claims["purpose"]);
    }

    [Theory]
    [InlineData("jwt-bearer", BrokerTestHost.Issuer)]
    [InlineData("jwt-bearer", TokenEndpointAudience)]
    [InlineData("token-exchange", BrokerTestHost.Issuer)]
    [InlineData("token-exchange", TokenEndpointAudience)]
    public async Task Assertion_NamingTheIssuerOrTheTokenEndpoint_IsAccepted_ByEitherGrant(string grant, string audience)
    {
        // RFC 7523 §3: aud identifies the authorization server; its token endpoint URL may be used, and the MCP
        // extension uses it. One validator, so the token exchange accepts the same audiences.
        var svid = fixture.Acme.Svid("/agents/reader", audience: audience);
        var oidc = fixture.Oidc.ServiceAccountToken("payments", "aud-bot", audience: audience);

        var forms = grant == "jwt-bearer"
            ? new[] { ExchangeFixture.JwtBearerRequest(svid), ExchangeFixture.JwtBearerRequest(oidc) }
            : [ExchangeFixture.Request(svid), ExchangeFixture.Request(oidc)];

        foreach (var form in forms)
        {
            var response = await fixture.ExchangeAsync(form);
            Assert.True(response.Status == HttpStatusCode.OK, response.Body);
        }
    }

    [Fact]
    public async Task JwtBearer_OptionalParameters_ReadAsAtTheExchange()
    {
        // requested_token_type for what this grant issues anyway, a shorter lifetime, and a client_id, which is
        // not read (no client authentication beyond the assertion).
        var form = ExchangeFixture.JwtBearerRequest(fixture.Acme.Svid("/agents/reader"));
        form["requested_token_type"] = "urn:ietf:params:oauth:token-type:access_token";
        form["expires_in"] = "60";
        form["client_id"] = "some-mcp-client";
        form["task_id"] = "sdk-task-7";

        var response = await fixture.ExchangeAsync(form);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(60, response.Json.GetProperty("expires_in").GetInt64());
        var (_, claims) = await VerifyAsync(response.AccessToken);
        Assert.Equal(("spiffe://acme.test/agents/reader", "sdk-task-7", "(none)"), ((string)claims["client_id"], (string)claims["task_id"], (string)claims["purpose"]));
    }

    [Fact]
    public async Task JwtBearer_AssertionIssuedByThisBroker_IsRefused_BeforeItsGrantIsLookedUp()
    {
        // Arrange: a capability token of this broker, still active.
        var exchanged = await fixture.ExchangeAsync(ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader")));
        Assert.Equal(HttpStatusCode.OK, exchanged.Status);
        var allowedBefore = fixture.AllowedCount;

        // Act
        var response = await fixture.ExchangeAsync(ExchangeFixture.JwtBearerRequest(exchanged.AccessToken));

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_grant", response.Error);
        Assert.Equal(ErrorCatalog.AssertionBrokerToken.Description, response.Json.GetProperty("error_description").GetString());
        Assert.DoesNotContain(exchanged.AccessToken, response.Body, StringComparison.Ordinal);
        Assert.Equal("assertion.broker_token", fixture.Host.AuditTrail.Last(e => e.SubjectTokenSha256 == TokenHash.Of(exchanged.AccessToken).ToString()).Reason);
        Assert.Equal(allowedBefore, fixture.AllowedCount);
    }

    [Theory]
    [InlineData("expired")]
    [InlineData("wrong audience")]
    [InlineData("unknown key")]
    public async Task JwtBearer_InvalidAssertion_IsTheExchangesRefusal_NamingTheAssertion(string defect)
    {
        // Arrange: the same defective JWT-SVID, once as a subject token, once as an assertion.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string Build() => defect switch
        {
            "expired" => fixture.Acme.Svid("/agents/reader", claims: c => { c["exp"] = now - 600; c["iat"] = now - 900; c["jti"] = Guid.NewGuid().ToString(); }),
            "wrong audience" => fixture.Acme.Svid("/agents/reader", audience: "https://another.broker", claims: c => c["jti"] = Guid.NewGuid().ToString()),
            _ => fixture.Acme.Svid("/agents/reader", key: TestKey.CreateEs256(), claims: c => c["jti"] = Guid.NewGuid().ToString()),
        };
        var subjectToken = Build();
        var assertion = Build();

        // Act
        var exchanged = await fixture.ExchangeAsync(ExchangeFixture.Request(subjectToken));
        var bearer = await fixture.ExchangeAsync(ExchangeFixture.JwtBearerRequest(assertion));

        // Assert: the same OAuth error (RFC 7523 §3.1 invalid_grant) for the same reason, which the description and
        // the audit trail tell apart by the parameter.
        var subjectReason = fixture.Host.AuditTrail.Last(e => e.SubjectTokenSha256 == TokenHash.Of(subjectToken).ToString()).Reason!;
        var assertionReason = fixture.Host.AuditTrail.Last(e => e.SubjectTokenSha256 == TokenHash.Of(assertion).ToString()).Reason!;
        Assert.Equal((exchanged.Status, exchanged.Error), (bearer.Status, bearer.Error));
        Assert.Equal("invalid_grant", bearer.Error);
        Assert.StartsWith("subject.", subjectReason, StringComparison.Ordinal);
        Assert.Equal("assertion." + subjectReason["subject.".Length..], assertionReason);
        var description = bearer.Json.GetProperty("error_description").GetString()!;
        Assert.Equal(exchanged.Json.GetProperty("error_description").GetString()!.Replace("subject_token", "assertion", StringComparison.Ordinal), description);
        Assert.Contains("assertion", description, StringComparison.Ordinal);
        Assert.DoesNotContain(assertion, bearer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metadata_ListsTheJwtBearerGrantType()
    {
        using var document = JsonDocument.Parse(await fixture.Host.Client.GetStringAsync("/.well-known/oauth-authorization-server"));

        var grantTypes = document.RootElement.GetProperty("grant_types_supported").EnumerateArray().Select(e => e.GetString()).ToList();

        Assert.Contains("urn:ietf:params:oauth:grant-type:jwt-bearer", grantTypes);
        Assert.Contains("urn:ietf:params:oauth:grant-type:token-exchange", grantTypes);
        Assert.Equal(["none"], document.RootElement.GetProperty("token_endpoint_auth_methods_supported").EnumerateArray().Select(e => e.GetString()));
    }

    private static string? StatusListUri(Dictionary<string, object> claims) =>
        JsonSerializer.SerializeToElement(claims["status"]).GetProperty("status_list").GetProperty("uri").GetString();
}
