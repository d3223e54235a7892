using System.Net;
using System.Security.Cryptography;
using System.Text;
using Broker.IntegrationTests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.IntegrationTests.Exchange;

/// <summary>
/// Malformed, hostile and out-of-policy requests: each is refused with the right OAuth error and
/// status, records no grant, and never echoes the presented token.
/// </summary>
public sealed class BadInputCorpusTests(ExchangeFixture fixture) : IClassFixture<ExchangeFixture>
{
    private const string Jwt = "urn:ietf:params:oauth:token-type:jwt";

    /// <summary>A bad request: how to build it from the fixture, and what the broker must answer.</summary>
    private sealed record Case(Func<ExchangeFixture, BadRequest> Build, HttpStatusCode Status, string Error, string? Reason = null);

    private sealed record BadRequest(IEnumerable<KeyValuePair<string, string>>? Form, HttpContent? RawContent = null)
    {
        public static implicit operator BadRequest(Dictionary<string, string> form) => new((IEnumerable<KeyValuePair<string, string>>)form);
    }

    private static Dictionary<string, string> Valid(ExchangeFixture f, string path = "/agents/reader") => ExchangeFixture.Request(f.Acme.Svid(path));

    private static Dictionary<string, string> With(Dictionary<string, string> form, string key, string? value)
    {
        if (value is null)
        {
            form.Remove(key);
        }
        else
        {
            form[key] = value;
        }

        return form;
    }

    private static Dictionary<string, string> WithSubject(ExchangeFixture f, string token) => With(Valid(f), "subject_token", token);

    /// <summary>A valid RFC 7523 jwt-bearer request (as an MCP SDK client sends it).</summary>
    private static Dictionary<string, string> Bearer(ExchangeFixture f, string path = "/agents/reader") => ExchangeFixture.JwtBearerRequest(f.Acme.Svid(path));

    private static Dictionary<string, string> WithAssertion(ExchangeFixture f, string token) => With(Bearer(f), "assertion", token);

    private static Dictionary<string, string> WithActor(ExchangeFixture f, string subjectPath, string actorToken, string scope = "invoices.read")
    {
        var form = ExchangeFixture.Request(f.Acme.Svid(subjectPath), scope: scope);
        form["actor_token"] = actorToken;
        form["actor_token_type"] = Jwt;
        return form;
    }

    private static List<KeyValuePair<string, string>> Duplicate(Dictionary<string, string> form, string key) =>
        [.. form, new(key, form[key])];

    private static string Unsigned(string header, string payload) =>
        $"{Base64UrlEncoder.Encode(header)}.{Base64UrlEncoder.Encode(payload)}.";

    private static string HmacSigned(string headerJson, string payloadJson, byte[] secret)
    {
        var signingInput = $"{Base64UrlEncoder.Encode(headerJson)}.{Base64UrlEncoder.Encode(payloadJson)}";
        var signature = HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(signingInput));
        return $"{signingInput}.{Base64UrlEncoder.Encode(signature)}";
    }

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // :: The form.
        ["json body"] = new(f => new BadRequest(null, new StringContent("""{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange"}""", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, "invalid_request"),
        ["empty form"] = new(f => new Dictionary<string, string>(), HttpStatusCode.BadRequest, "invalid_request"),
        ["missing grant_type"] = new(f => With(Valid(f), "grant_type", null), HttpStatusCode.BadRequest, "invalid_request"),
        ["client_credentials grant"] = new(f => With(Valid(f), "grant_type", "client_credentials"), HttpStatusCode.BadRequest, "unsupported_grant_type"),
        ["authorization_code grant"] = new(f => With(Valid(f), "grant_type", "authorization_code"), HttpStatusCode.BadRequest, "unsupported_grant_type"),
        ["grant_type twice"] = new(f => new BadRequest(Duplicate(Valid(f), "grant_type")), HttpStatusCode.BadRequest, "invalid_request"),
        ["subject_token twice"] = new(f => new BadRequest(Duplicate(Valid(f), "subject_token")), HttpStatusCode.BadRequest, "invalid_request"),
        ["scope twice"] = new(f => new BadRequest(Duplicate(Valid(f), "scope")), HttpStatusCode.BadRequest, "invalid_request"),
        ["missing subject_token"] = new(f => With(Valid(f), "subject_token", null), HttpStatusCode.BadRequest, "invalid_request"),
        ["missing subject_token_type"] = new(f => With(Valid(f), "subject_token_type", null), HttpStatusCode.BadRequest, "invalid_request"),
        ["saml2 subject_token_type"] = new(f => With(Valid(f), "subject_token_type", "urn:ietf:params:oauth:token-type:saml2"), HttpStatusCode.BadRequest, "invalid_request"),
        ["oversized subject_token"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader", claims: c => c["pad"] = new string('x', 9000))), HttpStatusCode.BadRequest, "invalid_request"),
        ["body over the size limit"] = new(f => With(Valid(f), "padding", new string('p', 40 * 1024)), HttpStatusCode.RequestEntityTooLarge, "invalid_request"),
        ["actor_token without type"] = new(f => With(Valid(f), "actor_token", f.Acme.Svid("/orchestrator/main")), HttpStatusCode.BadRequest, "invalid_request"),
        ["actor_token_type without token"] = new(f => With(Valid(f), "actor_token_type", Jwt), HttpStatusCode.BadRequest, "invalid_request"),
        ["refresh_token requested"] = new(f => With(Valid(f), "requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"), HttpStatusCode.BadRequest, "invalid_request"),
        ["no resource or audience"] = new(f => With(Valid(f), "resource", null), HttpStatusCode.BadRequest, "invalid_target"),
        ["two resources"] = new(f => new BadRequest(Duplicate(Valid(f), "resource")), HttpStatusCode.BadRequest, "invalid_target"),
        ["relative resource"] = new(f => With(Valid(f), "resource", "/invoices"), HttpStatusCode.BadRequest, "invalid_target"),
        ["resource with fragment"] = new(f => With(Valid(f), "resource", ExchangeFixture.InvoicesResource + "#x"), HttpStatusCode.BadRequest, "invalid_target"),
        ["plain http resource"] = new(f => With(Valid(f), "resource", "http://mcp.acme.test/invoices"), HttpStatusCode.BadRequest, "invalid_target"),
        ["missing scope"] = new(f => With(Valid(f), "scope", null), HttpStatusCode.BadRequest, "invalid_scope"),
        ["scope with a quote"] = new(f => With(Valid(f), "scope", "invoices.read \"x\""), HttpStatusCode.BadRequest, "invalid_scope"),
        ["seventeen scopes"] = new(f => With(Valid(f), "scope", string.Join(' ', Enumerable.Range(0, 17).Select(i => $"cap{i}"))), HttpStatusCode.BadRequest, "invalid_scope"),
        ["missing task_id"] = new(f => With(Valid(f), "task_id", null), HttpStatusCode.BadRequest, "invalid_request"),
        ["task_id with a newline"] = new(f => With(Valid(f), "task_id", "task\nforged: log line"), HttpStatusCode.BadRequest, "invalid_request"),
        ["task_id too long"] = new(f => With(Valid(f), "task_id", new string('t', 129)), HttpStatusCode.BadRequest, "invalid_request"),
        ["missing purpose"] = new(f => With(Valid(f), "purpose", null), HttpStatusCode.BadRequest, "invalid_request"),
        ["expires_in zero"] = new(f => With(Valid(f), "expires_in", "0"), HttpStatusCode.BadRequest, "invalid_request"),
        ["expires_in negative"] = new(f => With(Valid(f), "expires_in", "-60"), HttpStatusCode.BadRequest, "invalid_request"),

        // :: The subject token.
        ["not a JWT"] = new(f => WithSubject(f, "not-a-jwt"), HttpStatusCode.BadRequest, "invalid_grant"),
        ["three garbage segments"] = new(f => WithSubject(f, "a.b.c"), HttpStatusCode.BadRequest, "invalid_grant"),
        ["alg none"] = new(f => WithSubject(f, Unsigned("""{"alg":"none","typ":"JWT"}""", $$"""{"sub":"spiffe://acme.test/agents/reader","aud":["{{BrokerTestHost.Issuer}}"],"exp":{{Now + 300}}}""")), HttpStatusCode.BadRequest, "invalid_grant", "subject.unsupported_algorithm"),
        ["HS256 with a guessed secret"] = new(f => WithSubject(f, HmacSigned($$"""{"alg":"HS256","typ":"JWT","kid":"{{f.Acme.ActiveKey.KeyId}}"}""", $$"""{"sub":"spiffe://acme.test/agents/reader","aud":["{{BrokerTestHost.Issuer}}"],"exp":{{Now + 300}}}""", Encoding.UTF8.GetBytes("secret"))), HttpStatusCode.BadRequest, "invalid_grant", "subject.unsupported_algorithm"),
        ["RS256 key used as HS256 secret"] = new(f => WithSubject(f, HmacSigned(
            $$"""{"alg":"HS256","typ":"JWT","kid":"{{f.Oidc.Keys[0].KeyId}}"}""",
            $$$$"""{"iss":"{{{{f.Oidc.Issuer}}}}","sub":"system:serviceaccount:payments:x","aud":["{{{{BrokerTestHost.Issuer}}}}"],"exp":{{{{Now + 300}}}},"kubernetes.io":{"namespace":"payments","serviceaccount":{"name":"x"}}}""",
            Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new { kty = "RSA", n = f.Oidc.Keys[0].PublicJwk.N, e = f.Oidc.Keys[0].PublicJwk.E })))), HttpStatusCode.BadRequest, "invalid_grant", "subject.unsupported_algorithm"),
        ["missing kid"] = new(f => WithSubject(f, TestKey.CreateEs256().Sign(new Dictionary<string, object> { ["sub"] = "spiffe://acme.test/agents/reader", ["aud"] = BrokerTestHost.Issuer, ["exp"] = Now + 300 }, header: null) is var t ? StripKid(t) : ""), HttpStatusCode.BadRequest, "invalid_grant", "subject.missing_kid"),
        ["unknown kid"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader", key: TestKey.CreateEs256())), HttpStatusCode.BadRequest, "invalid_grant", "subject.unknown_key"),
        ["kid of a trusted key, signed by another"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader", key: TestKey.CreateEs256(f.Acme.ActiveKey.KeyId))), HttpStatusCode.BadRequest, "invalid_grant", "subject.invalid_signature"),
        ["expired"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader", claims: c => { c["exp"] = Now - 600; c["iat"] = Now - 900; })), HttpStatusCode.BadRequest, "invalid_grant", "subject.expired"),
        ["not yet valid"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader", claims: c => c["nbf"] = Now + 600)), HttpStatusCode.BadRequest, "invalid_grant", "subject.not_yet_valid"),
        ["issued in the future"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader", claims: c => c["iat"] = Now + 600)), HttpStatusCode.BadRequest, "invalid_grant"),
        ["no exp"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader", claims: c => c.Remove("exp"))), HttpStatusCode.BadRequest, "invalid_grant"),
        ["wrong aud"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader", audience: "https://another.broker")), HttpStatusCode.BadRequest, "invalid_grant", "subject.invalid_audience"),
        ["missing aud"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader", audience: null)), HttpStatusCode.BadRequest, "invalid_grant"),
        ["SVID with an unexpected typ"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader", typ: "at+jwt")), HttpStatusCode.BadRequest, "invalid_grant"),
        ["OIDC token with wrong iss for its keys"] = new(f => WithSubject(f, f.Oidc.ServiceAccountToken("payments", "bot", issuer: "https://oidc.elsewhere.test")), HttpStatusCode.BadRequest, "invalid_grant"),
        ["OIDC token with wrong aud"] = new(f => WithSubject(f, f.Oidc.ServiceAccountToken("payments", "bot", audience: "kubernetes")), HttpStatusCode.BadRequest, "invalid_grant", "subject.invalid_audience"),
        ["OIDC token expired"] = new(f => WithSubject(f, f.Oidc.ServiceAccountToken("payments", "bot", claims: c => { c["exp"] = Now - 600; c["nbf"] = Now - 900; c["iat"] = Now - 900; })), HttpStatusCode.BadRequest, "invalid_grant"),
        ["OIDC token from an unknown key"] = new(f => WithSubject(f, f.Oidc.ServiceAccountToken("payments", "bot", key: TestKey.CreateRs256())), HttpStatusCode.BadRequest, "invalid_grant"),
        ["OIDC token missing the mapped claims"] = new(f => WithSubject(f, f.Oidc.ServiceAccountToken("payments", "bot", claims: c => c.Remove("kubernetes.io"))), HttpStatusCode.BadRequest, "invalid_grant"),
        ["OIDC namespace no tenant trusts"] = new(f => WithSubject(f, f.Oidc.ServiceAccountToken("default", "bot")), HttpStatusCode.BadRequest, "invalid_grant", "policy.no_tenant"),
        ["OIDC namespace with a path separator"] = new(f => WithSubject(f, f.Oidc.ServiceAccountToken("payments", "bot", claims: c => c["kubernetes.io"] = new Dictionary<string, object> { ["namespace"] = "payments", ["serviceaccount"] = new Dictionary<string, object> { ["name"] = "x/../../admin" } })), HttpStatusCode.BadRequest, "invalid_grant", "subject.unmappable"),
        ["unknown issuer"] = new(f => WithSubject(f, TestKey.CreateEs256().Sign(new Dictionary<string, object> { ["iss"] = "https://idp.unknown.test", ["sub"] = "workload", ["aud"] = BrokerTestHost.Issuer, ["exp"] = Now + 300 })), HttpStatusCode.BadRequest, "invalid_grant"),
        ["foreign trust domain"] = new(f => WithSubject(f, new TestSpiffeAuthority("evil.test", Path.Combine(f.Directory.Path, "evil.json")).Svid("/agents/reader")), HttpStatusCode.BadRequest, "invalid_grant", "subject.untrusted_issuer"),
        ["acme ID signed by the globex key"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader", key: f.Globex.ActiveKey)), HttpStatusCode.BadRequest, "invalid_grant"),
        ["SPIFFE ID with dot segments"] = new(f => WithSubject(f, f.Acme.Svid("/agents/../admin")), HttpStatusCode.BadRequest, "invalid_grant"),
        ["SPIFFE ID with uppercase trust domain"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader", claims: c => c["sub"] = "spiffe://ACME.test/agents/reader")), HttpStatusCode.BadRequest, "invalid_grant"),
        ["SPIFFE ID with a query"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader?admin=true")), HttpStatusCode.BadRequest, "invalid_grant"),
        ["SPIFFE ID with a trailing slash"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader/")), HttpStatusCode.BadRequest, "invalid_grant"),
        ["forged act in a JWT-SVID"] = new(f => WithSubject(f, f.Acme.Svid("/agents/reader", claims: c => c["act"] = new Dictionary<string, object> { ["sub"] = "spiffe://acme.test/orchestrator/main" })), HttpStatusCode.BadRequest, "invalid_grant", "subject.foreign_act"),
        ["forged act in an OIDC token"] = new(f => WithSubject(f, f.Oidc.ServiceAccountToken("payments", "bot", claims: c => c["act"] = new Dictionary<string, object> { ["sub"] = "admin" })), HttpStatusCode.BadRequest, "invalid_grant", "subject.foreign_act"),
        ["forged broker token"] = new(f => WithSubject(f, TestKey.CreateEs256().Sign(new Dictionary<string, object> { ["iss"] = BrokerTestHost.Issuer, ["sub"] = "spiffe://acme.test/agents/billing", ["aud"] = ExchangeFixture.InvoicesResource, ["scope"] = "invoices.write", ["tenant"] = "acme", ["jti"] = "forged", ["exp"] = Now + 300, ["act"] = new Dictionary<string, object> { ["sub"] = "spiffe://acme.test/orchestrator/main" } }, typ: "at+jwt")), HttpStatusCode.BadRequest, "invalid_grant", "subject.unknown_key"),

        // :: The jwt-bearer grant (RFC 7523): the token exchange's checks, and parameters that have no meaning here.
        ["jwt-bearer: missing assertion"] = new(f => With(Bearer(f), "assertion", null), HttpStatusCode.BadRequest, "invalid_request"),
        ["jwt-bearer: empty assertion"] = new(f => With(Bearer(f), "assertion", ""), HttpStatusCode.BadRequest, "invalid_request"),
        ["jwt-bearer: two assertions"] = new(f => new BadRequest(Duplicate(Bearer(f), "assertion")), HttpStatusCode.BadRequest, "invalid_request"),
        ["jwt-bearer: oversized assertion"] = new(f => WithAssertion(f, f.Acme.Svid("/agents/reader", claims: c => c["pad"] = new string('x', 9000))), HttpStatusCode.BadRequest, "invalid_request", "request.assertion_too_large"),
        ["jwt-bearer: subject_token as well"] = new(f => With(Bearer(f), "subject_token", f.Acme.Svid("/agents/reader")), HttpStatusCode.BadRequest, "invalid_request", "request.jwt_bearer_subject_token"),
        ["jwt-bearer: subject_token_type"] = new(f => With(Bearer(f), "subject_token_type", Jwt), HttpStatusCode.BadRequest, "invalid_request", "request.jwt_bearer_subject_token"),
        ["jwt-bearer: subject_token instead of assertion"] = new(f => With(With(Bearer(f), "assertion", null), "subject_token", f.Acme.Svid("/agents/reader")), HttpStatusCode.BadRequest, "invalid_request"),
        ["jwt-bearer: actor_token"] = new(f => With(With(Bearer(f), "actor_token", f.Acme.Svid("/orchestrator/main")), "actor_token_type", Jwt), HttpStatusCode.BadRequest, "invalid_request", "request.jwt_bearer_actor_token"),
        ["jwt-bearer: jwt requested"] = new(f => With(Bearer(f), "requested_token_type", Jwt), HttpStatusCode.BadRequest, "invalid_request", "request.jwt_bearer_requested_token_type"),
        ["jwt-bearer: refresh_token requested"] = new(f => With(Bearer(f), "requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"), HttpStatusCode.BadRequest, "invalid_request", "request.jwt_bearer_requested_token_type"),
        ["jwt-bearer: no resource"] = new(f => With(Bearer(f), "resource", null), HttpStatusCode.BadRequest, "invalid_target", "request.missing_target"),
        ["jwt-bearer: two resources"] = new(f => new BadRequest(Duplicate(Bearer(f), "resource")), HttpStatusCode.BadRequest, "invalid_target"),
        ["jwt-bearer: resource with fragment"] = new(f => With(Bearer(f), "resource", ExchangeFixture.InvoicesResource + "#x"), HttpStatusCode.BadRequest, "invalid_target"),
        ["jwt-bearer: missing scope"] = new(f => With(Bearer(f), "scope", null), HttpStatusCode.BadRequest, "invalid_scope", "request.missing_scope"),
        ["jwt-bearer: task_id with a newline"] = new(f => With(Bearer(f), "task_id", "task\nforged: log line"), HttpStatusCode.BadRequest, "invalid_request", "request.malformed_task_id"),
        ["jwt-bearer: purpose the grammar refuses"] = new(f => With(Bearer(f), "purpose", "(none)"), HttpStatusCode.BadRequest, "invalid_request", "request.malformed_purpose"),
        ["jwt-bearer: expires_in zero"] = new(f => With(Bearer(f), "expires_in", "0"), HttpStatusCode.BadRequest, "invalid_request"),
        ["jwt-bearer: SAML 2.0 bearer grant"] = new(f => With(Bearer(f), "grant_type", "urn:ietf:params:oauth:grant-type:saml2-bearer"), HttpStatusCode.BadRequest, "unsupported_grant_type"),
        ["jwt-bearer: assertion not a JWT"] = new(f => WithAssertion(f, "not-a-jwt"), HttpStatusCode.BadRequest, "invalid_grant", "assertion.malformed"),
        ["jwt-bearer: assertion for another audience"] = new(f => WithAssertion(f, f.Acme.Svid("/agents/reader", audience: "https://another.broker")), HttpStatusCode.BadRequest, "invalid_grant", "assertion.invalid_audience"),
        ["jwt-bearer: assertion for another token endpoint"] = new(f => WithAssertion(f, f.Acme.Svid("/agents/reader", audience: "https://another.broker/oauth2/token")), HttpStatusCode.BadRequest, "invalid_grant", "assertion.invalid_audience"),
        ["jwt-bearer: OIDC assertion for another audience"] = new(f => WithAssertion(f, f.Oidc.ServiceAccountToken("payments", "bot", audience: "kubernetes")), HttpStatusCode.BadRequest, "invalid_grant", "assertion.invalid_audience"),
        ["jwt-bearer: expired assertion"] = new(f => WithAssertion(f, f.Acme.Svid("/agents/reader", claims: c => { c["exp"] = Now - 600; c["iat"] = Now - 900; })), HttpStatusCode.BadRequest, "invalid_grant", "assertion.expired"),
        ["jwt-bearer: OIDC assertion expired"] = new(f => WithAssertion(f, f.Oidc.ServiceAccountToken("payments", "bot", claims: c => { c["exp"] = Now - 600; c["nbf"] = Now - 900; c["iat"] = Now - 900; })), HttpStatusCode.BadRequest, "invalid_grant", "assertion.expired"),
        ["jwt-bearer: assertion without exp"] = new(f => WithAssertion(f, f.Acme.Svid("/agents/reader", claims: c => c.Remove("exp"))), HttpStatusCode.BadRequest, "invalid_grant", "assertion.missing_exp"),
        ["jwt-bearer: OIDC assertion without exp"] = new(f => WithAssertion(f, f.Oidc.ServiceAccountToken("payments", "bot", claims: c => c.Remove("exp"))), HttpStatusCode.BadRequest, "invalid_grant", "assertion.missing_exp"),
        ["jwt-bearer: unsigned assertion, alg none"] = new(f => WithAssertion(f, Unsigned("""{"alg":"none","typ":"JWT"}""", $$"""{"sub":"spiffe://acme.test/agents/reader","aud":["{{BrokerTestHost.Issuer}}"],"exp":{{Now + 300}}}""")), HttpStatusCode.BadRequest, "invalid_grant", "assertion.unsupported_algorithm"),
        ["jwt-bearer: assertion signed by another key under a trusted kid"] = new(f => WithAssertion(f, f.Acme.Svid("/agents/reader", key: TestKey.CreateEs256(f.Acme.ActiveKey.KeyId))), HttpStatusCode.BadRequest, "invalid_grant", "assertion.invalid_signature"),
        ["jwt-bearer: assertion with a duplicate member"] = new(f => WithAssertion(f, JwsGateCorpus.Build(f, JwsGateCorpus.Spiffe, "duplicate exp, expired first")), HttpStatusCode.BadRequest, "invalid_grant", "assertion.duplicate_member"),
        ["jwt-bearer: ID-JAG assertion"] = new(f => WithAssertion(f, f.Acme.Svid("/agents/reader", typ: "oauth-id-jag+jwt")), HttpStatusCode.BadRequest, "invalid_grant", "assertion.invalid_type"),
        ["jwt-bearer: assertion of a foreign trust domain"] = new(f => WithAssertion(f, new TestSpiffeAuthority("evil.test", Path.Combine(f.Directory.Path, "evil.json")).Svid("/agents/reader")), HttpStatusCode.BadRequest, "invalid_grant", "assertion.untrusted_issuer"),
        ["jwt-bearer: forged act in the assertion"] = new(f => WithAssertion(f, f.Acme.Svid("/agents/reader", claims: c => c["act"] = new Dictionary<string, object> { ["sub"] = "spiffe://acme.test/orchestrator/main" })), HttpStatusCode.BadRequest, "invalid_grant", "assertion.foreign_act"),
        ["jwt-bearer: forged broker token"] = new(f => WithAssertion(f, TestKey.CreateEs256().Sign(new Dictionary<string, object> { ["iss"] = BrokerTestHost.Issuer, ["sub"] = "spiffe://acme.test/agents/billing", ["aud"] = BrokerTestHost.Issuer, ["scope"] = "invoices.write", ["tenant"] = "acme", ["jti"] = "forged", ["exp"] = Now + 300 }, typ: "at+jwt")), HttpStatusCode.BadRequest, "invalid_grant", "assertion.broker_token"),
        ["jwt-bearer: unknown scope"] = new(f => With(Bearer(f), "scope", "payroll.admin"), HttpStatusCode.BadRequest, "invalid_scope"),
        ["jwt-bearer: scope escalation"] = new(f => With(Bearer(f), "scope", "invoices.read invoices.write"), HttpStatusCode.BadRequest, "invalid_scope", "policy.scope_not_allowed"),
        ["jwt-bearer: capability on another resource"] = new(f => With(Bearer(f), "resource", ExchangeFixture.CrmResource), HttpStatusCode.BadRequest, "invalid_target"),
        ["jwt-bearer: proof of possession required"] = new(f => ExchangeFixture.JwtBearerRequest(f.Acme.Svid("/agents/reader"), scope: "secrets.read", resource: "https://mcp.acme.test/secrets"), HttpStatusCode.BadRequest, "invalid_request", "policy.pop_required"),
        ["jwt-bearer: OIDC namespace no tenant trusts"] = new(f => WithAssertion(f, f.Oidc.ServiceAccountToken("default", "bot")), HttpStatusCode.BadRequest, "invalid_grant", "policy.no_tenant"),

        // :: Policy.
        ["scope escalation"] = new(f => With(Valid(f), "scope", "invoices.read invoices.write"), HttpStatusCode.BadRequest, "invalid_scope", "policy.scope_not_allowed"),
        ["unknown capability"] = new(f => With(Valid(f), "scope", "payroll.admin"), HttpStatusCode.BadRequest, "invalid_scope"),
        ["capability on another resource"] = new(f => With(Valid(f), "resource", ExchangeFixture.CrmResource), HttpStatusCode.BadRequest, "invalid_target"),
        ["cross-tenant resource"] = new(f => With(Valid(f), "resource", ExchangeFixture.GlobexInvoicesResource), HttpStatusCode.BadRequest, "invalid_target"),
        ["cross-tenant capability"] = new(f => ExchangeFixture.Request(f.Globex.Svid("/agents/reader"), scope: "crm.read", resource: ExchangeFixture.CrmResource), HttpStatusCode.BadRequest, "invalid_scope"),
        ["resource and audience disagree"] = new(f => With(Valid(f), "audience", "crm"), HttpStatusCode.BadRequest, "invalid_target"),
        ["purpose the rule does not allow"] = new(f => With(ExchangeFixture.Request(f.Acme.Svid("/agents/billing"), scope: "invoices.write"), "purpose", "marketing"), HttpStatusCode.BadRequest, "invalid_scope"),
        ["proof of possession required"] = new(f => ExchangeFixture.Request(f.Acme.Svid("/agents/reader"), scope: "secrets.read", resource: "https://mcp.acme.test/secrets"), HttpStatusCode.BadRequest, "invalid_request"),
        ["actor not allowed"] = new(f => WithActor(f, "/agents/billing", f.Acme.Svid("/agents/reader")), HttpStatusCode.BadRequest, "unauthorized_client"),
        ["actor from another tenant"] = new(f => WithActor(f, "/agents/billing", f.Globex.Svid("/orchestrator/main")), HttpStatusCode.BadRequest, "unauthorized_client", "policy.actor_other_tenant"),
        ["delegation where the rule has none"] = new(f => WithActor(f, "/agents/reader", f.Acme.Svid("/orchestrator/main")), HttpStatusCode.BadRequest, "unauthorized_client"),
        ["expired actor token"] = new(f => WithActor(f, "/agents/billing", f.Acme.Svid("/orchestrator/main", claims: c => { c["exp"] = Now - 600; c["iat"] = Now - 900; })), HttpStatusCode.BadRequest, "invalid_grant"),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Fact]
    public void Corpus_HasAtLeastFortyCases() => Assert.True(Cases.Count >= 40, $"{Cases.Count} cases");

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Exchange_BadInput_IsRefusedWithTheRightErrorAndRecordsNothing(string name)
    {
        // Arrange
        var @case = Cases[name];
        var request = @case.Build(fixture);
        var allowedBefore = fixture.AllowedCount;

        // Act
        using var content = request.RawContent ?? new FormUrlEncodedContent(request.Form!);
        using var httpResponse = await fixture.Host.Client.PostAsync("/oauth2/token", content);
        var response = await ExchangeResponse.ReadAsync(httpResponse);

        // Assert
        Assert.Equal(@case.Status, response.Status);
        Assert.Equal(@case.Error, response.Error);
        Assert.Equal("no-store", response.CacheControl);
        Assert.False(string.IsNullOrEmpty(response.Json.GetProperty("error_description").GetString()));
        Assert.Equal(allowedBefore, fixture.AllowedCount);
        if (@case.Reason is not null)
        {
            // The precise reason is in the audit trail, keyed by the hash of the subject token (or assertion).
            var credential = request.Form!.Any(p => p.Key == "grant_type" && p.Value.EndsWith(":jwt-bearer", StringComparison.Ordinal)) ? "assertion" : "subject_token";
            var hash = Subjects.TokenHash.Of(request.Form!.First(p => p.Key == credential).Value).ToString();
            var audited = fixture.Host.AuditTrail.Last(e => e.SubjectTokenSha256 == hash);
            Assert.Equal(@case.Reason, audited.Reason);
        }

        foreach (var token in (request.Form ?? []).Where(p => p.Key is "subject_token" or "actor_token" or "assertion" && p.Value.Length > 0).Select(p => p.Value))
        {
            Assert.DoesNotContain(token, response.Body, StringComparison.Ordinal);
        }
    }

    private static string StripKid(string token)
    {
        // Re-sign without a kid header: the handler always writes kid when the key has one.
        var parsed = new JsonWebToken(token);
        var key = TestKey.CreateEs256();
        ((ECDsaSecurityKey)key.Key).KeyId = null;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(
            Base64UrlEncoder.Decode(parsed.EncodedPayload),
            new SigningCredentials(key.Key, SecurityAlgorithms.EcdsaSha256));
    }
}
