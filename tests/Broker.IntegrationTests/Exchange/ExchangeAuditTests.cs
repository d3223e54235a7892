using System.Net;
using System.Text;
using Broker.Audit;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Exchange;

/// <summary>
/// Exactly one audit event per request of <c>/oauth2/token</c>, whatever step refused it, carrying what was known:
/// the subject, its tenant and the policy version once the subject token validated, none of them before. Events
/// without a tenant go to the global stream, never to a tenant's. Run on each store.
/// </summary>
public abstract class ExchangeAuditTests
{
    private const string Reader = "spiffe://acme.test/agents/reader";
    private const string Billing = "spiffe://acme.test/agents/billing";

    protected abstract ExchangeFixture Fixture { get; }

    private IGrantStore Store => Fixture.Host.Services.GetRequiredService<IGrantStore>();

    /// <summary>
    /// A refused request and what its one event must say: the reason, the HTTP answer, and — when the subject
    /// validated — the subject and its tenant (null: no tenant accepts it).
    /// </summary>
    private sealed record Case(Func<ExchangeFixture, HttpRequestMessage> Build, string Reason, string Error, HttpStatusCode Status, string? Subject = null, string? Tenant = null)
    {
        public bool Validated => Subject is not null;
    }

    private static HttpRequestMessage Post(IEnumerable<KeyValuePair<string, string>> form, string query = "") =>
        new(HttpMethod.Post, "/oauth2/token" + query) { Content = new FormUrlEncodedContent(form) };

    private static HttpRequestMessage Post(Dictionary<string, string> form, string key, string? value)
    {
        if (value is null)
        {
            form.Remove(key);
        }
        else
        {
            form[key] = value;
        }

        return Post(form);
    }

    private static Dictionary<string, string> Valid(ExchangeFixture f, string path = "/agents/reader") => ExchangeFixture.Request(f.Acme.Svid(path));

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // :: At the door: nothing about the subject is known.
        ["GET"] = new(f => new HttpRequestMessage(HttpMethod.Get, "/oauth2/token"), "request.method_not_allowed", "invalid_request", HttpStatusCode.MethodNotAllowed),
        ["query string"] = new(f => Post(Valid(f), "?subject_token=x"), "request.query_string", "invalid_request", HttpStatusCode.BadRequest),
        ["json body"] = new(f => new HttpRequestMessage(HttpMethod.Post, "/oauth2/token") { Content = new StringContent("{}", Encoding.UTF8, "application/json") }, "request.content_type", "invalid_request", HttpStatusCode.BadRequest),
        ["no Content-Type"] = new(f => new HttpRequestMessage(HttpMethod.Post, "/oauth2/token") { Content = new ByteArrayContent("grant_type=x"u8.ToArray()) }, "request.missing_content_type", "invalid_request", HttpStatusCode.BadRequest),
        ["charset=utf-16"] = new(f => new HttpRequestMessage(HttpMethod.Post, "/oauth2/token") { Content = new StringContent("grant_type=x", Encoding.Unicode, "application/x-www-form-urlencoded") }, "request.charset", "invalid_request", HttpStatusCode.BadRequest),
        ["too large"] = new(f => Post(Valid(f), "padding", new string('p', 40 * 1024)), "request.too_large", "invalid_request", HttpStatusCode.RequestEntityTooLarge),
        ["grant_type twice"] = new(f => Post([.. Valid(f), new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange")]), "request.duplicate_parameter", "invalid_request", HttpStatusCode.BadRequest),
        ["missing grant_type"] = new(f => Post(Valid(f), "grant_type", null), "request.missing_grant_type", "invalid_request", HttpStatusCode.BadRequest),
        ["client_credentials"] = new(f => Post(Valid(f), "grant_type", "client_credentials"), "request.unsupported_grant_type", "unsupported_grant_type", HttpStatusCode.BadRequest),
        ["missing scope"] = new(f => Post(Valid(f), "scope", null), "request.missing_scope", "invalid_scope", HttpStatusCode.BadRequest),

        // :: The subject token does not validate.
        ["expired subject"] = new(f => Post(Valid(f), "subject_token", f.Acme.Svid("/agents/reader", claims: c => { c["exp"] = Now - 600; c["iat"] = Now - 900; })), "subject.expired", "invalid_grant", HttpStatusCode.BadRequest),
        ["subject from an unknown key"] = new(f => Post(Valid(f), "subject_token", f.Acme.Svid("/agents/reader", key: TestKey.CreateEs256())), "subject.unknown_key", "invalid_grant", HttpStatusCode.BadRequest),
        ["subject of a foreign trust domain"] = new(f => Post(Valid(f), "subject_token", new TestSpiffeAuthority("evil.test", Path.Combine(f.Directory.Path, "evil.json")).Svid("/agents/reader")), "subject.untrusted_issuer", "invalid_grant", HttpStatusCode.BadRequest),

        // :: The subject validated; a later step refuses.
        ["actor token expired"] = new(f => Post(new Dictionary<string, string>(Valid(f, "/agents/billing")) { ["actor_token"] = f.Acme.Svid("/orchestrator/main", claims: c => { c["exp"] = Now - 600; c["iat"] = Now - 900; }), ["actor_token_type"] = "urn:ietf:params:oauth:token-type:jwt" }), "actor.expired", "invalid_grant", HttpStatusCode.BadRequest, Billing, "acme"),
        ["actor not allowed"] = new(f => Post(new Dictionary<string, string>(Valid(f, "/agents/billing")) { ["actor_token"] = f.Acme.Svid("/agents/reader"), ["actor_token_type"] = "urn:ietf:params:oauth:token-type:jwt" }), "policy.actor_not_allowed", "unauthorized_client", HttpStatusCode.BadRequest, Billing, "acme"),
        ["scope escalation"] = new(f => Post(Valid(f), "scope", "invoices.read invoices.write"), "policy.scope_not_allowed", "invalid_scope", HttpStatusCode.BadRequest, Reader, "acme"),
        ["cross-tenant resource"] = new(f => Post(Valid(f), "resource", ExchangeFixture.GlobexInvoicesResource), "policy.target_mismatch", "invalid_target", HttpStatusCode.BadRequest, Reader, "acme"),
        ["no tenant trusts the subject"] = new(f => Post(Valid(f), "subject_token", f.Oidc.ServiceAccountToken("default", "bot")), "policy.no_tenant", "invalid_grant", HttpStatusCode.BadRequest, "spiffe://k8s.acme.test/ns/default/sa/bot", null),

        // :: The jwt-bearer grant (RFC 7523): the same steps, the same one event.
        ["jwt-bearer without assertion"] = new(f => Post(ExchangeFixture.JwtBearerRequest(f.Acme.Svid("/agents/reader")), "assertion", null), "request.missing_assertion", "invalid_request", HttpStatusCode.BadRequest),
        ["jwt-bearer with a subject_token"] = new(f => Post(ExchangeFixture.JwtBearerRequest(f.Acme.Svid("/agents/reader")), "subject_token", f.Acme.Svid("/agents/reader")), "request.jwt_bearer_subject_token", "invalid_request", HttpStatusCode.BadRequest),
        ["jwt-bearer expired assertion"] = new(f => Post(ExchangeFixture.JwtBearerRequest(f.Acme.Svid("/agents/reader", claims: c => { c["exp"] = Now - 600; c["iat"] = Now - 900; }))), "assertion.expired", "invalid_grant", HttpStatusCode.BadRequest),
        ["jwt-bearer without the purpose policy requires"] = new(f => Post(ExchangeFixture.JwtBearerRequest(f.Acme.Svid("/agents/billing"), scope: "invoices.write")), "policy.scope_not_allowed", "invalid_scope", HttpStatusCode.BadRequest, Billing, "acme"),
        ["jwt-bearer cross-tenant resource"] = new(f => Post(ExchangeFixture.JwtBearerRequest(f.Acme.Svid("/agents/reader"), resource: ExchangeFixture.GlobexInvoicesResource)), "policy.target_mismatch", "invalid_target", HttpStatusCode.BadRequest, Reader, "acme"),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Refusal_IsExactlyOneEvent_WithWhatWasKnown_InTheRightStream(string name)
    {
        // Arrange
        var @case = Cases[name];
        using var request = @case.Build(Fixture);
        var before = await SnapshotAsync();

        // Act
        using var response = await Fixture.Host.Client.SendAsync(request);

        // Assert: the answer.
        Assert.Equal(@case.Status, response.StatusCode);
        Assert.Contains($"\"error\":\"{@case.Error}\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Assert: one new event, in the tenant's stream or else the global one.
        var after = await SnapshotAsync();
        var added = after.Added(before);
        var audited = Assert.Single(added);
        Assert.Equal(@case.Tenant is null ? null : "acme", after.StreamOf(audited));
        Assert.Equal(AuditEventTypes.TokenExchange, audited.Type);
        Assert.Equal(AuditOutcome.Denied, audited.Outcome);
        Assert.Equal(@case.Reason, audited.Reason);
        Assert.Equal(@case.Error, audited.Error);
        Assert.Equal("127.0.0.1", audited.ClientAddress);

        // Assert: the subject, its tenant and the policy version exactly when the subject validated.
        Assert.Equal(@case.Subject, audited.Subject);
        Assert.Equal(@case.Tenant, audited.Tenant);
        if (@case.Validated)
        {
            Assert.StartsWith("sha256:", audited.PolicyVersion, StringComparison.Ordinal);
        }
        else
        {
            Assert.Null(audited.PolicyVersion);
        }
    }

    [Fact]
    public async Task Issuance_IsExactlyOneAllowedEvent_InTheTenantsStream()
    {
        var before = await SnapshotAsync();

        var response = await Fixture.ExchangeAsync(ExchangeFixture.Request(Fixture.Acme.Svid("/agents/reader")));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var after = await SnapshotAsync();
        var issued = Assert.Single(after.Added(before));
        Assert.Equal("acme", after.StreamOf(issued));
        Assert.Equal(AuditOutcome.Allowed, issued.Outcome);
        Assert.Equal((Reader, "acme"), (issued.Subject, issued.Tenant));
        Assert.NotNull(issued.PolicyVersion);
        Assert.NotNull(issued.GrantId);
    }

    [Fact]
    public async Task JwtBearerIssuance_IsExactlyOneAllowedEvent_InTheTenantsStream_ItsGrantItsOwnTask()
    {
        var before = await SnapshotAsync();

        var response = await Fixture.ExchangeAsync(ExchangeFixture.JwtBearerRequest(Fixture.Acme.Svid("/agents/reader")));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var after = await SnapshotAsync();
        var issued = Assert.Single(after.Added(before));
        Assert.Equal("acme", after.StreamOf(issued));
        Assert.Equal((AuditEventTypes.TokenExchange, AuditOutcome.Allowed), (issued.Type, issued.Outcome));
        Assert.Equal((Reader, "acme"), (issued.Subject, issued.Tenant));
        Assert.NotNull(issued.GrantId);
        Assert.Equal((issued.GrantId, "(none)"), (issued.TaskId, issued.Purpose));

        // The store kept the same task and purpose.
        var grant = await Store.FindAsync(issued.GrantId!, CancellationToken.None);
        Assert.Equal((issued.GrantId, "(none)"), (grant!.TaskId, grant.Purpose));
    }

    [Fact]
    public async Task AuditTrail_EventNamingATenantThePolicyDoesNotDefine_GoesToTheGlobalStreamWithoutIt()
    {
        // Arrange: a tenant name as request input would carry it (an admin call for a tenant that does not exist).
        var trail = Fixture.Host.Services.GetRequiredService<AuditTrail>();
        var marker = Guid.NewGuid().ToString("N");
        var forged = new AuditEvent { Type = "admin.grants.list", Time = DateTimeOffset.UtcNow, Outcome = AuditOutcome.Denied, Reason = marker, Tenant = "no-such-tenant" };
        var known = forged with { Tenant = "acme" };

        // Act
        await trail.RecordAsync(forged, CancellationToken.None);
        await trail.RecordAsync(known, CancellationToken.None);

        // Assert
        Assert.Empty(await Store.ReadAuditAsync("no-such-tenant", 1000, CancellationToken.None));
        Assert.Contains(await Store.ReadAuditAsync(null, 1000, CancellationToken.None), e => e.Reason == marker && e.Tenant is null);
        Assert.Contains(await Store.ReadAuditAsync("acme", 1000, CancellationToken.None), e => e.Reason == marker && e.Tenant == "acme");
    }

    /// <summary>Every stream the fixture's requests can reach, newest first.</summary>
    private async Task<Snapshot> SnapshotAsync() => new(
        await Store.ReadAuditAsync(null, 1000, CancellationToken.None),
        await Store.ReadAuditAsync("acme", 1000, CancellationToken.None),
        await Store.ReadAuditAsync("globex", 1000, CancellationToken.None));

    private sealed record Snapshot(IReadOnlyList<AuditEvent> Global, IReadOnlyList<AuditEvent> Acme, IReadOnlyList<AuditEvent> Globex)
    {
        public List<AuditEvent> Added(Snapshot before) =>
        [
            .. Global.Take(Global.Count - before.Global.Count),
            .. Acme.Take(Acme.Count - before.Acme.Count),
            .. Globex.Take(Globex.Count - before.Globex.Count),
        ];

        public string? StreamOf(AuditEvent auditEvent) =>
            Global.Contains(auditEvent) ? null : Acme.Contains(auditEvent) ? "acme" : Globex.Contains(auditEvent) ? "globex" : "none";
    }
}

/// <summary><see cref="ExchangeAuditTests"/> on the in-memory store.</summary>
public sealed class InMemoryExchangeAuditTests(ExchangeFixture fixture) : ExchangeAuditTests, IClassFixture<ExchangeFixture>
{
    protected override ExchangeFixture Fixture => fixture;
}

/// <summary><see cref="ExchangeAuditTests"/> on a real redis-server; the global stream is its own key.</summary>
public sealed class RedisExchangeAuditTests(RedisExchangeAuditTests.RedisFixture redis) : ExchangeAuditTests, IClassFixture<RedisExchangeAuditTests.RedisFixture>
{
    protected override ExchangeFixture Fixture => redis.Exchange;

    [Fact]
    public async Task RefusalBeforeValidation_IsAppendedToTheGlobalStreamKey()
    {
        var db = Fixture.Host.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var key = redis.KeyPrefix + "{global}:audit";
        var before = await db.StreamLengthAsync(key);

        using var response = await Fixture.Host.Client.PostAsync("/oauth2/token", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before + 1, await db.StreamLengthAsync(key));
    }

    /// <summary>The exchange fixture over a redis-server of its own.</summary>
    public sealed class RedisFixture : IAsyncLifetime
    {
        private readonly RedisServerFixture _redis = new();

        public ExchangeFixture Exchange { get; } = new();

        public string KeyPrefix { get; } = RedisServerFixture.NewKeyPrefix();

        public async ValueTask InitializeAsync()
        {
            await _redis.InitializeAsync();
            Exchange.Configure = s =>
            {
                s.Configure<RedisOptions>(o =>
                {
                    o.Configuration = _redis.Configuration;
                    o.KeyPrefix = KeyPrefix;
                });
            };
            await Exchange.InitializeAsync();
        }

        public async ValueTask DisposeAsync()
        {
            await Exchange.DisposeAsync();
            await _redis.DisposeAsync();
        }
    }
}
