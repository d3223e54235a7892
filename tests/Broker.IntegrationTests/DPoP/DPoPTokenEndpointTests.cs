using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Audit;
using Broker.Grants;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.Subjects;
using Broker.Testing.DPoP;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using static Broker.Testing.DPoP.DPoPTestProofs;

namespace Broker.IntegrationTests.DPoP;

/// <summary>
/// DPoP (RFC 9449) at the real token endpoint, on Kestrel, with the in-memory store: every §4.3 failure refused and
/// audited with its own reason, tokens bound with <c>cnf.jkt</c>, proof of possession required by policy, and a binding
/// that survives re-exchange and delegation.
/// </summary>
public sealed class DPoPTokenEndpointTests(ExchangeFixture fixture) : IClassFixture<ExchangeFixture>
{
    private const string SecretsResource = "https://mcp.acme.test/secrets";
    private static readonly string Endpoint = DPoPExchange.TokenEndpoint.ToString();

    private static JsonObject ClaimsNow(string method = "POST", string? uri = null, TimeSpan? age = null) =>
        Claims(method, uri ?? Endpoint, DateTimeOffset.UtcNow - (age ?? TimeSpan.Zero));

    /// <summary>Every way a proof fails §4.3 at the token endpoint, with the reason the trail records.</summary>
    private static readonly Dictionary<string, (Func<ExchangeFixture, string[]> Proofs, string Reason)> RefusedCases = new()
    {
        ["htm is GET"] = (_ => [Sign(Header(), ClaimsNow("GET"))], "dpop.wrong_htm"),
        ["htm is post (methods are case-sensitive)"] = (_ => [Sign(Header(), ClaimsNow("post"))], "dpop.wrong_htm"),
        ["htu is another endpoint of this broker"] = (_ => [Sign(Header(), ClaimsNow(uri: BrokerTestHost.Issuer + "/oauth2/introspect"))], "dpop.wrong_htu"),
        ["htu is another server's token endpoint"] = (_ => [Sign(Header(), ClaimsNow(uri: "https://other.example/oauth2/token"))], "dpop.wrong_htu"),
        ["htu is the address the request was sent to, not the issuer's"] = (f => [Sign(Header(), ClaimsNow(uri: new Uri(f.Host.BaseAddress, "/oauth2/token").ToString()))], "dpop.wrong_htu"),
        ["iat five minutes old"] = (_ => [Sign(Header(), ClaimsNow(age: TimeSpan.FromMinutes(5)))], "dpop.stale_iat"),
        ["iat five minutes ahead"] = (_ => [Sign(Header(), ClaimsNow(age: TimeSpan.FromMinutes(-5)))], "dpop.future_iat"),
        ["jwk holds the private key"] = (_ => [Sign(Header(jwk: EcJwk(P256, includePrivate: true)), ClaimsNow())], "dpop.private_key_in_jwk"),
        ["alg HS256"] = (_ => [Sign(Header("HS256"), ClaimsNow(), RandomNumberGenerator.GetBytes(32))], "dpop.disallowed_alg"),
        ["alg none"] = (_ => [Sign(Header("none"), ClaimsNow())], "dpop.disallowed_alg"),
        ["alg RS256, not accepted by default"] = (_ => [Sign(Header("RS256", RsaJwk(Rsa2048)), ClaimsNow(), Rsa2048)], "dpop.disallowed_alg"),
        ["signed by another key than jwk"] = (_ => [Sign(Header(), ClaimsNow(), P256Other)], "dpop.bad_signature"),
        ["typ JWT"] = (_ => [Sign(Header(typ: "JWT"), ClaimsNow())], "dpop.bad_typ"),
        ["no jwk"] = (_ => [Sign(Header().Without("jwk"), ClaimsNow())], "dpop.missing_jwk"),
        ["no jti"] = (_ => [Sign(Header(), ClaimsNow().Without("jti"))], "dpop.missing_claim"),
        ["not a JWT"] = (_ => ["not-a-proof"], "dpop.malformed_proof"),
        ["empty DPoP header"] = (_ => [string.Empty], "dpop.missing_proof"),
        ["two DPoP headers"] = (_ => [DPoPExchange.NewKey().Proof(), DPoPExchange.NewKey().Proof()], "dpop.multiple_proofs"),
    };

    public static TheoryData<string> Refused => [.. RefusedCases.Keys];

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Exchange_ProofFailingRfc9449Checks_IsRefusedWithInvalidDPoPProof_AndAuditedWithItsReason(string name)
    {
        // Arrange
        var (proofs, reason) = RefusedCases[name];
        var svid = fixture.Acme.Svid("/agents/reader");

        // Act
        var response = await DPoPExchange.PostAsync(fixture.Host.Client, ExchangeFixture.Request(svid), proofs(fixture));

        // Assert: RFC 9449 §5, an RFC 6749 §5.2 error; no token, and one denied event that says which check failed.
        Assert.Equal(HttpStatusCode.BadRequest, response.Answer.Status);
        Assert.Equal("invalid_dpop_proof", response.Answer.Error);
        Assert.False(response.Answer.Json.TryGetProperty("access_token", out _));
        Assert.Equal("no-store", response.Answer.CacheControl);
        var audited = Assert.Single(fixture.Host.AuditTrail, e => e.SubjectTokenSha256 == TokenHash.Of(svid).ToString());
        Assert.Equal((AuditOutcome.Denied, "invalid_dpop_proof", reason), (audited.Outcome, audited.Error, audited.Reason));
        Assert.Equal(["invoices.read"], audited.RequestedCapabilities);
    }

    [Fact]
    public async Task Exchange_WithProof_BindsTheTokenToTheProofKey_AndSaysSoEverywhere()
    {
        // Arrange
        var key = DPoPExchange.NewKey();

        // Act
        var response = await DPoPExchange.PostAsync(fixture.Host.Client, ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader")), key.Proof());

        // Assert: RFC 9449 §5 token_type DPoP, §6.1 cnf.jkt the RFC 7638 thumbprint of the proof's key.
        Assert.Equal(HttpStatusCode.OK, response.Answer.Status);
        Assert.Equal("DPoP", response.Answer.Json.GetProperty("token_type").GetString());
        Assert.Null(response.Nonce);
        var token = new JsonWebToken(response.Answer.AccessToken);
        Assert.Equal(DPoPExchange.BoundTo(key), DPoPExchange.Confirmation(response.Answer.AccessToken));

        // The grant records the binding; the admin API and introspection show it.
        var grant = await fixture.Host.Services.GetRequiredService<IGrantStore>().FindAsync(token.Id, CancellationToken.None);
        Assert.Equal(new GrantBinding(key.Thumbprint, null), grant!.Binding);
        using var admin = await SendAsync(HttpMethod.Get, $"/admin/v1/grants/{token.Id}", fixture.Acme.Svid("/admins/alice"));
        Assert.Equal(DPoPExchange.BoundTo(key), admin.RootElement.GetProperty("binding").GetRawText());
        using var introspected = await SendAsync(HttpMethod.Post, "/oauth2/introspect", fixture.Acme.Svid("/mcp/invoices"), response.Answer.AccessToken);
        Assert.True(introspected.RootElement.GetProperty("active").GetBoolean());
        Assert.Equal("DPoP", introspected.RootElement.GetProperty("token_type").GetString());
        Assert.Equal(DPoPExchange.BoundTo(key), introspected.RootElement.GetProperty("cnf").GetRawText());
    }

    [Fact]
    public async Task JwtBearer_WithProof_BindsTheTokenToTheProofKey()
    {
        // Arrange
        var key = DPoPExchange.NewKey();

        // Act
        var response = await DPoPExchange.PostAsync(fixture.Host.Client, ExchangeFixture.JwtBearerRequest(fixture.Acme.Svid("/agents/reader")), key.Proof());

        // Assert: RFC 9449 §5 applies to every grant type, the RFC 7523 one included.
        Assert.Equal(HttpStatusCode.OK, response.Answer.Status);
        Assert.Equal("DPoP", response.Answer.Json.GetProperty("token_type").GetString());
        Assert.Equal(DPoPExchange.BoundTo(key), DPoPExchange.Confirmation(response.Answer.AccessToken));
    }

    [Fact]
    public async Task Exchange_WithoutProof_IssuesABearerTokenAsBefore()
    {
        // Act
        var response = await DPoPExchange.PostAsync(fixture.Host.Client, ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader")));

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.Answer.Status);
        Assert.Equal("Bearer", response.Answer.Json.GetProperty("token_type").GetString());
        Assert.False(new JsonWebToken(response.Answer.AccessToken).TryGetPayloadValue<JsonElement>("cnf", out _));
    }

    [Fact]
    public async Task Exchange_ProofReplayed_IsRefusedTheSecondTime()
    {
        // Arrange: one proof, two requests (a second subject token, so only the proof repeats).
        var proof = DPoPExchange.NewKey().Proof();
        var first = await DPoPExchange.PostAsync(fixture.Host.Client, ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader")), proof);
        var svid = fixture.Acme.Svid("/agents/reader");

        // Act
        var second = await DPoPExchange.PostAsync(fixture.Host.Client, ExchangeFixture.Request(svid), proof);

        // Assert: RFC 9449 §11.1, one use per jti and key.
        Assert.Equal(HttpStatusCode.OK, first.Answer.Status);
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_dpop_proof"), (second.Answer.Status, second.Answer.Error));
        Assert.Equal("dpop.replayed_jti", fixture.Host.AuditTrail.Single(e => e.SubjectTokenSha256 == TokenHash.Of(svid).ToString()).Reason);
    }

    [Fact]
    public async Task Exchange_ProofOfPossessionCapability_IsRefusedToABearerRequest_AndGrantedBoundWithAProof()
    {
        // Arrange
        var key = DPoPExchange.NewKey();

        // Act
        var bearer = await DPoPExchange.PostAsync(fixture.Host.Client, ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader"), "secrets.read", SecretsResource));
        var bound = await DPoPExchange.PostAsync(fixture.Host.Client, ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader"), "secrets.read", SecretsResource), key.Proof());

        // Assert: the refusal says what to send; with it, the capability is granted to a DPoP-bound token.
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request"), (bearer.Answer.Status, bearer.Answer.Error));
        Assert.Contains("DPoP proof", bearer.Answer.Json.GetProperty("error_description").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, bound.Answer.Status);
        Assert.Equal("secrets.read", bound.Answer.Json.GetProperty("scope").GetString());
        Assert.Equal(DPoPExchange.BoundTo(key), DPoPExchange.Confirmation(bound.Answer.AccessToken));
    }

    [Fact]
    public async Task ReExchange_OfABoundToken_NeedsAProofByTheSameKey_AndStaysBoundToIt()
    {
        // Arrange: a token bound to one key.
        var key = DPoPExchange.NewKey();
        var original = await DPoPExchange.PostAsync(
            fixture.Host.Client, ExchangeFixture.Request(fixture.Acme.Svid("/agents/billing"), scope: "invoices.read invoices.write"), key.Proof());
        Assert.Equal(HttpStatusCode.OK, original.Answer.Status);
        var narrow = ExchangeFixture.Request(original.Answer.AccessToken, scope: "invoices.read");
        narrow["subject_token_type"] = "urn:ietf:params:oauth:token-type:access_token";

        // Act: without a proof (a thief with the token alone), with another key's proof, then with the right one.
        var withoutProof = await DPoPExchange.PostAsync(fixture.Host.Client, narrow);
        var otherKey = await DPoPExchange.PostAsync(fixture.Host.Client, narrow, DPoPExchange.NewKey().Proof());
        var sameKey = await DPoPExchange.PostAsync(fixture.Host.Client, narrow, key.Proof());

        // Assert: the binding is never dropped nor moved.
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_dpop_proof"), (withoutProof.Answer.Status, withoutProof.Answer.Error));
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_dpop_proof"), (otherKey.Answer.Status, otherKey.Answer.Error));
        Assert.Equal(HttpStatusCode.OK, sameKey.Answer.Status);
        Assert.Equal("DPoP", sameKey.Answer.Json.GetProperty("token_type").GetString());
        Assert.Equal(DPoPExchange.BoundTo(key), DPoPExchange.Confirmation(sameKey.Answer.AccessToken));
        var grant = await fixture.Host.Services.GetRequiredService<IGrantStore>().FindAsync(new JsonWebToken(sameKey.Answer.AccessToken).Id, CancellationToken.None);
        Assert.Equal(new JsonWebToken(original.Answer.AccessToken).Id, grant!.ParentGrantId);
        Assert.Equal(key.Thumbprint, grant.Binding!.JwkThumbprint);

        var hash = TokenHash.Of(original.Answer.AccessToken).ToString();
        Assert.Equal(
            ["dpop.bound_subject_without_proof", "dpop.bound_subject_key_mismatch"],
            fixture.Host.AuditTrail.Where(e => e.SubjectTokenSha256 == hash && e.Outcome == AuditOutcome.Denied).Select(e => e.Reason));
    }

    [Fact]
    public async Task ReExchange_OfABearerToken_WithAProof_BindsTheNewToken()
    {
        // Arrange
        var key = DPoPExchange.NewKey();
        var bearer = await DPoPExchange.PostAsync(fixture.Host.Client, ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader")));
        var narrow = ExchangeFixture.Request(bearer.Answer.AccessToken);

        // Act
        var bound = await DPoPExchange.PostAsync(fixture.Host.Client, narrow, key.Proof());

        // Assert: binding may be added on the way down, never removed.
        Assert.Equal(HttpStatusCode.OK, bound.Answer.Status);
        Assert.Equal(DPoPExchange.BoundTo(key), DPoPExchange.Confirmation(bound.Answer.AccessToken));
    }

    [Fact]
    public async Task Delegation_OfABoundToken_NeedsTheSubjectKeysProof_AndStaysBoundToIt()
    {
        // Arrange: the billing agent's token, bound to its key; an orchestrator is to act for it.
        var key = DPoPExchange.NewKey();
        var subject = await DPoPExchange.PostAsync(
            fixture.Host.Client, ExchangeFixture.Request(fixture.Acme.Svid("/agents/billing"), scope: "invoices.read"), key.Proof());
        Dictionary<string, string> Delegate()
        {
            var form = ExchangeFixture.Request(subject.Answer.AccessToken);
            form["actor_token"] = fixture.Acme.Svid("/orchestrator/main");
            form["actor_token_type"] = "urn:ietf:params:oauth:token-type:jwt";
            return form;
        }

        // Act
        var otherKey = await DPoPExchange.PostAsync(fixture.Host.Client, Delegate(), DPoPExchange.NewKey().Proof());
        var sameKey = await DPoPExchange.PostAsync(fixture.Host.Client, Delegate(), key.Proof());

        // Assert
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_dpop_proof"), (otherKey.Answer.Status, otherKey.Answer.Error));
        Assert.Equal(HttpStatusCode.OK, sameKey.Answer.Status);
        var token = new JsonWebToken(sameKey.Answer.AccessToken);
        Assert.Equal("spiffe://acme.test/orchestrator/main", token.GetPayloadValue<string>("client_id"));
        Assert.Equal(DPoPExchange.BoundTo(key), DPoPExchange.Confirmation(sameKey.Answer.AccessToken));
    }

    [Fact]
    public async Task Metadata_AdvertisesTheAcceptedProofAlgorithms()
    {
        // Act
        using var metadata = JsonDocument.Parse(await fixture.Host.Client.GetStringAsync("/.well-known/oauth-authorization-server"));

        // Assert: RFC 9449 §5.1; asymmetric only, RS256 left out by default.
        Assert.Equal(
            ["ES256", "ES384", "ES512", "PS256", "PS384", "PS512"],
            metadata.RootElement.GetProperty("dpop_signing_alg_values_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(Endpoint, metadata.RootElement.GetProperty("token_endpoint").GetString());
    }

    [Fact]
    public async Task Exchange_ProofMadeByTheNpmDpopPackage_IsAcceptedAndBoundToItsThumbprint()
    {
        // Arrange: proofs from an implementation that shares nothing with the broker.
        var proofs = await DPoPNode.MakeProofsAsync(
            [new("ES256", "POST", Endpoint), new("PS256", "POST", Endpoint)], TestContext.Current.CancellationToken);

        // Act
        var es256 = await DPoPExchange.PostAsync(fixture.Host.Client, ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader")), proofs[0].Value);
        var ps256 = await DPoPExchange.PostAsync(fixture.Host.Client, ExchangeFixture.JwtBearerRequest(fixture.Acme.Svid("/agents/reader")), proofs[1].Value);

        // Assert: bound to the thumbprint the package computes (RFC 7638).
        Assert.Equal(HttpStatusCode.OK, es256.Answer.Status);
        Assert.Equal($$"""{"jkt":"{{proofs[0].Jkt}}"}""", DPoPExchange.Confirmation(es256.Answer.AccessToken));
        Assert.Equal(HttpStatusCode.OK, ps256.Answer.Status);
        Assert.Equal($$"""{"jkt":"{{proofs[1].Jkt}}"}""", DPoPExchange.Confirmation(ps256.Answer.AccessToken));
    }

    private async Task<JsonDocument> SendAsync(HttpMethod method, string path, string bearer, string? token = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        if (token is not null)
        {
            request.Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token });
        }

        using var response = await fixture.Host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }
}
