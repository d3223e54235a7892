using System.Net;
using System.Net.Http.Headers;
using Broker.Audit;
using Broker.Authentication;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;

namespace Broker.IntegrationTests.Authentication;

/// <summary>
/// The identity source is part of the identity. Tenant <c>acme</c> trusts the SPIFFE trust domain <c>acme.test</c>;
/// tenant <c>shady</c> trusts two OIDC issuers that map a claim (<c>{workload}</c>) as is: <see cref="_allowed"/> may render
/// SPIFFE IDs of <c>acme.test</c> (<c>spiffe_trust_domains</c>), <see cref="_other"/> may not. Neither can make
/// a <c>sub</c> pass for a global admin, an acme admin or an SVID, and an <c>oidc:ISSUER#…</c> pattern names
/// exactly one issuer.
/// </summary>
public sealed class IdentityConfusionTests : IAsyncLifetime
{
    private const string Root = "spiffe://acme.test/platform/root";
    private const string ShadyResource = "https://mcp.shady.test/tools";

    private readonly TempDirectory _directory = new();
    private TestSpiffeAuthority _acme = null!;
    private TestOidcIssuer _allowed = null!;
    private TestOidcIssuer _other = null!;
    private BrokerTestHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_directory.Path, "policy", "bundles"));
        _acme = new TestSpiffeAuthority("acme.test", Path.Combine(_directory.Path, "policy", "bundles", "acme.json"));
        _allowed = await TestOidcIssuer.StartAsync();
        _other = await TestOidcIssuer.StartAsync();
        _directory.Write("policy/acme.yaml", $$"""
            tenant: acme
            admins: ["spiffe://acme.test/admins/*"]
            trust:
              spiffe:
                - trust_domain: acme.test
                  bundle_file: bundles/acme.json
            capabilities:
              - name: invoices.read
                resource: {{ExchangeFixture.InvoicesResource}}
            rules:
              - subjects: ["spiffe://acme.test/agents/*"]
                capabilities: [invoices.read]
                permissions: [execute]
            """);
        _directory.Write("policy/shady.yaml", $$"""
            tenant: shady
            admins: ["spiffe://acme.test/admins/*", "oidc:{{_allowed.Issuer}}#tenant-admin"]
            trust:
              oidc:
                - issuer: {{_allowed.Issuer}}
                  subject: "{workload}"
                  spiffe_trust_domains: [acme.test]
                - issuer: {{_other.Issuer}}
                  subject: "{workload}"
            capabilities:
              - name: tools.run
                resource: {{ShadyResource}}
            rules:
              - subjects: ["oidc:{{_allowed.Issuer}}#robot"]
                capabilities: [tools.run]
                permissions: [execute]
            """);
        _host = await BrokerTestHost.StartAsync(Path.Combine(_directory.Path, "policy"), s =>
        {
            s.Configure<AdminOptions>(o =>
            {
                o.GlobalAdmins.Add(Root);
                o.GlobalAdmins.Add($"oidc:{_allowed.Issuer}#ops-admin");
            });
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _allowed.DisposeAsync();
        await _other.DisposeAsync();
        _directory.Dispose();
    }

    /// <summary>
    /// A token of <paramref name="issuer"/> whose mapped identity is <paramref name="identity"/> (a claim the
    /// template renders as is; <c>sub</c> stays a service account, so the token is routed to its issuer).
    /// </summary>
    private static string Token(TestOidcIssuer issuer, string identity) =>
        issuer.ServiceAccountToken("ns", "sa", claims: c => c["workload"] = identity);

    private async Task<HttpStatusCode> GetAsync(string path, string bearer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        using var response = await _host.Client.SendAsync(request);
        return response.StatusCode;
    }

    private async Task<ExchangeResponse> ExchangeAsync(string subjectToken, string scope, string resource)
    {
        using var content = new FormUrlEncodedContent(ExchangeFixture.Request(subjectToken, scope, resource));
        using var response = await _host.Client.PostAsync("/oauth2/token", content);
        return await ExchangeResponse.ReadAsync(response);
    }

    [Fact]
    public async Task GlobalAdmin_SpiffeEntry_OnlyBySvidOfItsTrustDomain()
    {
        // The SVID is the global admin.
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/admin/v1/audit", _acme.Svid("/platform/root")));

        // An issuer allowed to render acme.test IDs authenticates, but is no global admin: 403.
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync("/admin/v1/audit", Token(_allowed, Root)));

        // An issuer not allowed to render them does not even authenticate: 401.
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync("/admin/v1/audit", Token(_other, Root)));
    }

    [Fact]
    public async Task GlobalAdmin_OidcEntry_OnlyByItsIssuer()
    {
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/admin/v1/audit", Token(_allowed, "ops-admin")));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync("/admin/v1/audit", Token(_other, "ops-admin")));
    }

    [Fact]
    public async Task TenantAdmin_SpiffePatternIsNotMatchedByAnOidcRenderedId_AndOidcEntryNamesOneIssuer()
    {
        // shady names spiffe://acme.test/admins/* too, but an OIDC token rendering that ID is not an SVID.
        var rendered = Token(_allowed, "spiffe://acme.test/admins/alice");
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync("/admin/v1/grants?tenant=shady", rendered));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync("/admin/v1/grants?tenant=acme", rendered));

        // The acme admin SVID administers acme, not shady (it does not belong there).
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/admin/v1/grants?tenant=acme", _acme.Svid("/admins/alice")));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync("/admin/v1/grants?tenant=shady", _acme.Svid("/admins/alice")));

        // oidc:ISSUER#tenant-admin: that issuer's tenant-admin, and no other's.
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/admin/v1/grants?tenant=shady", Token(_allowed, "tenant-admin")));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync("/admin/v1/grants?tenant=shady", Token(_other, "tenant-admin")));
    }

    [Fact]
    public async Task Exchange_OidcRenderedSpiffeIdOfAnUnlistedTrustDomain_IsRefused()
    {
        // Arrange: the other issuer mints the ID of an acme agent.
        var forged = Token(_other, "spiffe://acme.test/agents/reader");

        // Act
        var response = await ExchangeAsync(forged, "invoices.read", ExchangeFixture.InvoicesResource);

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_grant", response.Error);
        Assert.Contains(_host.AuditTrail, e => e.Type == AuditEventTypes.TokenExchange && e.Reason == "subject.spiffe_id_not_allowed");
    }

    [Fact]
    public async Task Exchange_SourceQualifiedRule_MatchesOnlyItsIssuer()
    {
        var allowed = await ExchangeAsync(Token(_allowed, "robot"), "tools.run", ShadyResource);
        var other = await ExchangeAsync(Token(_other, "robot"), "tools.run", ShadyResource);

        Assert.Equal(HttpStatusCode.OK, allowed.Status);
        Assert.Equal(HttpStatusCode.BadRequest, other.Status);
        Assert.Equal("invalid_scope", other.Error);
    }

    [Fact]
    public async Task Exchange_OidcRenderedSpiffeIdOfAListedTrustDomain_StaysInTheIssuersTenant()
    {
        // The allowed issuer's acme.test ID belongs to shady, whose rules it must satisfy: no acme capability.
        var response = await ExchangeAsync(Token(_allowed, "spiffe://acme.test/agents/reader"), "invoices.read", ExchangeFixture.InvoicesResource);

        // Placed (not invalid_grant), in shady, which has no such capability: invalid_scope.
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_scope", response.Error);
    }
}
