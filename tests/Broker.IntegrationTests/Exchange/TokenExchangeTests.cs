using System.Net;
using System.Text.Json;
using Broker.Grants;
using Broker.IntegrationTests.Infrastructure;
using Jose;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.IntegrationTests.Exchange;

public sealed class TokenExchangeTests(ExchangeFixture fixture) : IClassFixture<ExchangeFixture>
{
    [Fact]
    public async Task Exchange_SpiffeJwtSvid_IssuesTokenThatVerifiesWithAnIndependentJoseLibrary()
    {
        // Arrange
        var svid = fixture.Acme.Svid("/agents/reader");

        // Act
        var response = await fixture.ExchangeAsync(ExchangeFixture.Request(svid));
        var jwks = await fixture.Host.Client.GetStringAsync("/.well-known/jwks.json");

        // Assert: RFC 8693 §2.2.1 response, never cached.
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("no-store", response.CacheControl);
        Assert.Equal("urn:ietf:params:oauth:token-type:access_token", response.Json.GetProperty("issued_token_type").GetString());
        Assert.Equal("Bearer", response.Json.GetProperty("token_type").GetString());
        Assert.Equal(300, response.Json.GetProperty("expires_in").GetInt64());
        Assert.Equal("invoices.read", response.Json.GetProperty("scope").GetString());

        // The token verifies with jose-jwt against the published JWKS: no shared code with the broker.
        var header = JWT.Headers(response.AccessToken);
        var key = JwkSet.FromJson(jwks, JWT.DefaultSettings.JsonMapper).Keys.Single(k => k.KeyId == (string)header["kid"]);
        var payload = JWT.Decode<Dictionary<string, object>>(response.AccessToken, key, JwsAlgorithm.ES256);
        Assert.Equal("at+jwt", header["typ"]);
        Assert.Equal(BrokerTestHost.Issuer, payload["iss"]);
        Assert.Equal("spiffe://acme.test/agents/reader", payload["sub"]);
        Assert.Equal(ExchangeFixture.InvoicesResource, payload["aud"]);
        Assert.Equal("spiffe://acme.test/agents/reader", payload["client_id"]);
        Assert.Equal("invoices.read", payload["scope"]);
        Assert.Equal("acme", payload["tenant"]);
        Assert.Equal("task-42", payload["task_id"]);
        Assert.Equal("billing", payload["purpose"]);
        Assert.False(payload.ContainsKey("act"));
        Assert.Equal(300L, Convert.ToInt64(payload["exp"]) - Convert.ToInt64(payload["iat"]));

        // The kid is the RFC 7638 thumbprint of the published key.
        Assert.Equal(key.KeyId, Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(
            new Microsoft.IdentityModel.Tokens.JsonWebKey(JsonSerializer.Serialize(new { kty = key.Kty, crv = key.Crv, x = key.X, y = key.Y })).ComputeJwkThumbprint()));

        // The grant was recorded with the token's jti as its ID.
        var grant = await fixture.Host.Services.GetRequiredService<IGrantStore>().FindAsync((string)payload["jti"], CancellationToken.None);
        Assert.NotNull(grant);
        Assert.Equal("acme", grant.Tenant);
        Assert.Equal(["invoices.read"], grant.Capabilities);
        Assert.Equal("task-42", grant.TaskId);
        Assert.StartsWith("sha256:", grant.PolicyVersion, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exchange_KubernetesServiceAccountToken_MapsClaimsToWorkloadIdentity()
    {
        var token = fixture.Oidc.ServiceAccountToken("payments", "invoice-bot");

        var response = await fixture.ExchangeAsync(ExchangeFixture.Request(token));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var claims = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(response.AccessToken);
        Assert.Equal("spiffe://k8s.acme.test/ns/payments/sa/invoice-bot", claims.Subject);
        Assert.Equal("acme", claims.GetPayloadValue<string>("tenant"));
    }

    [Fact]
    public async Task Exchange_OidcTokenSignedWithEs256Key_IsAccepted()
    {
        var token = fixture.Oidc.ServiceAccountToken("payments", "es-bot", key: fixture.Oidc.Keys[1]);

        var response = await fixture.ExchangeAsync(ExchangeFixture.Request(token));

        Assert.Equal(HttpStatusCode.OK, response.Status);
    }

    [Fact]
    public async Task Exchange_AudienceInsteadOfResource_TargetsTheCapabilityAudience()
    {
        var form = ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader"), scope: "crm.read");
        form.Remove("resource");
        form["audience"] = "crm";

        var response = await fixture.ExchangeAsync(form);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("crm", new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(response.AccessToken).Audiences.Single());
    }

    [Theory]
    [InlineData(null, "invoices.read", 300)]        // default 5 min, capability max 5 min
    [InlineData("60", "invoices.read", 60)]         // asked for less
    [InlineData("3600", "invoices.read", 300)]      // capped by the capability
    [InlineData("3600", "invoices.read invoices.write", 120)] // the smallest capability maximum wins
    public async Task Exchange_Lifetime_IsTheSmallestOfRequestedCapabilityAndTenant(string? expiresIn, string scope, long expected)
    {
        var form = ExchangeFixture.Request(fixture.Acme.Svid("/agents/billing"), scope: scope);
        if (expiresIn is not null)
        {
            form["expires_in"] = expiresIn;
        }

        var response = await fixture.ExchangeAsync(form);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(expected, response.Json.GetProperty("expires_in").GetInt64());
        var token = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(response.AccessToken);
        Assert.Equal(expected, (long)(token.ValidTo - token.IssuedAt).TotalSeconds);
    }

    [Fact]
    public async Task Exchange_WithActor_AddsActClaimAndNestsItOnFurtherDelegation()
    {
        // An orchestrator acts for the billing agent.
        var form = ExchangeFixture.Request(fixture.Acme.Svid("/agents/billing"), scope: "invoices.read invoices.write");
        form["actor_token"] = fixture.Acme.Svid("/orchestrator/main");
        form["actor_token_type"] = "urn:ietf:params:oauth:token-type:jwt";
        var first = await fixture.ExchangeAsync(form);
        Assert.Equal(HttpStatusCode.OK, first.Status);
        var firstToken = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(first.AccessToken);
        Assert.Equal("spiffe://acme.test/agents/billing", firstToken.Subject);
        Assert.Equal("spiffe://acme.test/orchestrator/main", firstToken.GetPayloadValue<string>("client_id"));
        Assert.Equal("""{"sub":"spiffe://acme.test/orchestrator/main"}""", JsonSerializer.Serialize(firstToken.GetPayloadValue<JsonElement>("act")));

        // A sub-orchestrator takes the delegated token further: RFC 8693 §4.1 nesting, newest outermost.
        var second = ExchangeFixture.Request(first.AccessToken, scope: "invoices.read");
        second["subject_token_type"] = "urn:ietf:params:oauth:token-type:access_token";
        second["actor_token"] = fixture.Acme.Svid("/orchestrator/sub");
        second["actor_token_type"] = "urn:ietf:params:oauth:token-type:jwt";
        var nested = await fixture.ExchangeAsync(second);
        Assert.Equal(HttpStatusCode.OK, nested.Status);
        var nestedToken = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(nested.AccessToken);
        Assert.Equal(
            """{"sub":"spiffe://acme.test/orchestrator/sub","act":{"sub":"spiffe://acme.test/orchestrator/main"}}""",
            JsonSerializer.Serialize(nestedToken.GetPayloadValue<JsonElement>("act")));
        var grant = await fixture.Host.Services.GetRequiredService<IGrantStore>().FindAsync(nestedToken.Id, CancellationToken.None);
        Assert.Equal(["spiffe://acme.test/orchestrator/sub", "spiffe://acme.test/orchestrator/main"], grant!.ActorChain);
        Assert.Equal(firstToken.Id, grant.ParentGrantId);

        // A third actor would make the chain longer than max_depth 2.
        var third = ExchangeFixture.Request(nested.AccessToken, scope: "invoices.read");
        third["actor_token"] = fixture.Acme.Svid("/orchestrator/third");
        third["actor_token_type"] = "urn:ietf:params:oauth:token-type:jwt";
        var tooDeep = await fixture.ExchangeAsync(third);
        Assert.Equal(HttpStatusCode.BadRequest, tooDeep.Status);
        Assert.Equal("unauthorized_client", tooDeep.Error);
    }

    [Fact]
    public async Task ReExchange_NarrowsScopeAndKeepsTheTaskButCannotWiden()
    {
        var original = await fixture.ExchangeAsync(ExchangeFixture.Request(fixture.Acme.Svid("/agents/billing"), scope: "invoices.read invoices.write"));
        Assert.Equal(HttpStatusCode.OK, original.Status);

        var narrowed = await fixture.ExchangeAsync(ExchangeFixture.Request(original.AccessToken, scope: "invoices.read"));
        Assert.Equal(HttpStatusCode.OK, narrowed.Status);
        Assert.Equal("invoices.read", narrowed.Json.GetProperty("scope").GetString());
        // What is left of the original (2 minutes, from invoices.write) bounds the new token.
        Assert.True(narrowed.Json.GetProperty("expires_in").GetInt64() <= 120);

        var readOnly = narrowed.AccessToken;
        var widened = await fixture.ExchangeAsync(ExchangeFixture.Request(readOnly, scope: "invoices.read invoices.write"));
        Assert.Equal("invalid_scope", widened.Error);

        var otherTarget = await fixture.ExchangeAsync(ExchangeFixture.Request(readOnly, scope: "crm.read", resource: ExchangeFixture.CrmResource));
        Assert.Equal("invalid_scope", otherTarget.Error);

        var otherTask = ExchangeFixture.Request(readOnly);
        otherTask["task_id"] = "another-task";
        Assert.Equal("invalid_request", (await fixture.ExchangeAsync(otherTask)).Error);
    }

    [Fact]
    public async Task Metadata_ListsEndpointsAndSupportedValues()
    {
        using var document = JsonDocument.Parse(await fixture.Host.Client.GetStringAsync("/.well-known/oauth-authorization-server"));
        var root = document.RootElement;

        Assert.Equal(BrokerTestHost.Issuer, root.GetProperty("issuer").GetString());
        Assert.Equal(BrokerTestHost.Issuer + "/oauth2/token", root.GetProperty("token_endpoint").GetString());
        Assert.Equal(BrokerTestHost.Issuer + "/.well-known/jwks.json", root.GetProperty("jwks_uri").GetString());
        Assert.Equal(
            ["urn:ietf:params:oauth:grant-type:token-exchange", "urn:ietf:params:oauth:grant-type:jwt-bearer"],
            root.GetProperty("grant_types_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("ES256", root.GetProperty("token_signing_alg_values_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.DoesNotContain("HS256", root.GetProperty("subject_token_signing_alg_values_supported").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Jwks_PublishesPublicKeysOnlyWithCacheHeaders()
    {
        using var response = await fixture.Host.Client.GetAsync("/.well-known/jwks.json");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("public, max-age=300", response.Headers.CacheControl?.ToString());
        using var document = JsonDocument.Parse(body);
        var key = Assert.Single(document.RootElement.GetProperty("keys").EnumerateArray());
        Assert.Equal("EC", key.GetProperty("kty").GetString());
        Assert.False(key.TryGetProperty("d", out _), "the private key must never be published");
    }

    [Fact]
    public async Task Exchange_EveryDecisionIsAuditedOnceWithTheTokenHashNeverTheToken()
    {
        var svid = fixture.Acme.Svid("/agents/auditor");
        var before = fixture.Host.AuditTrail.Count;

        var response = await fixture.ExchangeAsync(ExchangeFixture.Request(svid));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var events = fixture.Host.AuditTrail.Skip(before).Where(e => e.Subject == "spiffe://acme.test/agents/auditor").ToList();
        var issued = Assert.Single(events);
        Assert.Equal(Broker.Audit.AuditOutcome.Allowed, issued.Outcome);
        Assert.Equal(Subjects.TokenHash.Of(svid).ToString(), issued.SubjectTokenSha256);
        Assert.DoesNotContain(svid, JsonSerializer.Serialize(issued), StringComparison.Ordinal);
    }
}
