using System.Net;
using System.Text.Json;
using Broker.Audit;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Catalog;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.Review;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.IntegrationTests.Review;

/// <summary>
/// <c>GET /admin/v1/review</c> on real Kestrel, with the counters in memory and in a real redis-server: the counts
/// match the grants made in the test, refused exchanges count nothing, unused entitlements are the ones nobody used,
/// only the tenant's admins may read it, every read is audited, and bad queries are refused.
/// </summary>
public abstract class AccessReviewTests : IAsyncLifetime
{
    private const string Admin = "/admins/alice";

    protected CatalogFixture Fixture { get; } = new();

    protected abstract Type StoreType { get; }

    protected abstract void Configure(Dictionary<string, string?> settings);

    public ValueTask InitializeAsync() => new(Fixture.StartAsync(s =>
    {
        // Flushed by the test, not by the clock.
        s.Configure<ReviewOptions>(o => o.FlushInterval = TimeSpan.FromMinutes(5));
        Configure(s);
    }));

    public async ValueTask DisposeAsync()
    {
        await Fixture.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<CatalogResponse> ReviewAsync(string query, string? caller = Admin) =>
        Fixture.SendAsync(HttpMethod.Get, "/admin/v1/review" + query, caller is null ? null : Fixture.Acme.Svid(caller));

    [Fact]
    public void Host_CountsInTheStoreUnderTest() => Assert.IsType(StoreType, Fixture.Host.Services.GetRequiredService<IUsageStore>());

    [Fact]
    public async Task Review_CountsMatchTheGrantsMadeInTheTest()
    {
        // Arrange: both servers publish; the reader gets 3 invoices.read and 2 crm.read grants, the runner 1
        // invoices.read; refused exchanges (not permitted, unknown scope) are made too.
        await Fixture.PublishAllAsync(CatalogFixture.Invoices);
        await Fixture.PublishAllAsync(CatalogFixture.Crm);
        var made = new List<(string Caller, string Scope)>
        {
            (CatalogFixture.Reader, "invoices.read"), (CatalogFixture.Reader, "invoices.read"), (CatalogFixture.Reader, "invoices.read"),
            (CatalogFixture.Reader, "crm.read"), (CatalogFixture.Reader, "crm.read"),
            (CatalogFixture.Runner, "invoices.read"),
        };
        foreach (var (caller, scope) in made)
        {
            var resource = scope == "crm.read" ? CatalogFixture.Crm : CatalogFixture.Invoices;
            Assert.Equal(HttpStatusCode.OK, (await Fixture.ExchangeAsync(caller, scope, resource)).Status);
        }

        Assert.Equal("invalid_scope", (await Fixture.ExchangeAsync(CatalogFixture.Reader, "invoices.write", CatalogFixture.Invoices)).Error);
        Assert.Equal("invalid_scope", (await Fixture.ExchangeAsync(CatalogFixture.Auditor, "invoices.read", CatalogFixture.Invoices)).Error);

        // Act
        await Fixture.Host.Services.GetRequiredService<UsageFlusher>().FlushAsync(Ct);
        var response = await ReviewAsync("?tenant=acme&days=7");

        // Assert: per capability, per identity, exactly the grants made; and the grant store agrees.
        Assert.Equal(HttpStatusCode.OK, response.Status);
        var review = response.Json;
        Assert.Equal("acme", review.GetProperty("tenant").GetString());
        Assert.Equal(7, review.GetProperty("days").GetInt32());
        Assert.Equal(made.Count, review.GetProperty("usage").GetProperty("grants").GetInt64());
        Assert.Equal(0, review.GetProperty("usage").GetProperty("overflow").GetInt64());
        var counted = review.GetProperty("capabilities").EnumerateArray()
            .SelectMany(c => c.GetProperty("used_by").EnumerateArray().Select(u => (Capability: c.GetProperty("name").GetString()!, Identity: u.GetProperty("identity").GetString()!, Grants: u.GetProperty("grants").GetInt64())))
            .OrderBy(x => x.Capability, StringComparer.Ordinal).ThenBy(x => x.Identity, StringComparer.Ordinal)
            .ToList();
        var expected = made
            .GroupBy(m => (Capability: m.Scope, Identity: "spiffe://acme.test" + m.Caller))
            .Select(g => (g.Key.Capability, g.Key.Identity, Grants: (long)g.Count()))
            .OrderBy(x => x.Capability, StringComparer.Ordinal).ThenBy(x => x.Identity, StringComparer.Ordinal)
            .ToList();
        Assert.Equal(expected, counted);
        var page = await Fixture.Host.Services.GetRequiredService<IGrantStore>().ListAsync(new GrantQuery("acme", null, null), null, 100, Ct);
        Assert.Equal(made.Count, page.Grants.Sum(g => g.Capabilities.Count));

        // Assert: the inventory: publishers, tools and the rules that allow each capability.
        var read = Capability(review, "invoices.read");
        Assert.Equal(3 + 1, read.GetProperty("grants").GetInt64());
        Assert.Equal("spiffe://acme.test" + CatalogFixture.InvoicesServer, read.GetProperty("publishers")[0].GetProperty("published_by").GetString());
        Assert.Equal(["get_invoice", "list_invoices"], read.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Contains(read.GetProperty("rules").EnumerateArray(), r => r.GetProperty("name").GetString() == "the runner executes blind" && r.GetProperty("source").GetString()!.StartsWith("acme.yaml:", StringComparison.Ordinal));
        Assert.Empty(read.GetProperty("shared_with").EnumerateArray());

        // Assert: every execute entitlement was used, so none is unused, and nobody used a rule partly.
        Assert.Empty(review.GetProperty("unused_entitlements").EnumerateArray());
        Assert.Empty(review.GetProperty("partial_use").EnumerateArray());

        // Assert: audited with the admin's identity.
        var audit = await Fixture.Host.Services.GetRequiredService<IGrantStore>().ReadAuditAsync("acme", 200, Ct);
        Assert.Contains(audit, e => e.Type == ReviewEndpoint.Action && e.Outcome == AuditOutcome.Allowed && e.Actor == "spiffe://acme.test" + Admin);
    }

    [Fact]
    public async Task Review_NoGrants_ListsEveryExecuteEntitlementAsUnused()
    {
        // Act
        await Fixture.Host.Services.GetRequiredService<UsageFlusher>().FlushAsync(Ct);
        var response = await ReviewAsync("?tenant=acme");

        // Assert: the default window, and the reader's two reads and the runner's one as unused.
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(30, response.Json.GetProperty("days").GetInt32());
        Assert.Equal(
            ["crm.read the reader reads", "invoices.read the reader reads", "invoices.read the runner executes blind"],
            response.Json.GetProperty("unused_entitlements").EnumerateArray().Select(u => u.GetProperty("capability").GetString() + " " + u.GetProperty("rule").GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Review_PartialUse_NamesTheCapabilitiesTheIdentityLeftUnused()
    {
        await Fixture.PublishAllAsync(CatalogFixture.Invoices);
        Assert.Equal(HttpStatusCode.OK, (await Fixture.ExchangeAsync(CatalogFixture.Reader, "invoices.read", CatalogFixture.Invoices)).Status);
        await Fixture.Host.Services.GetRequiredService<UsageFlusher>().FlushAsync(Ct);

        var response = await ReviewAsync("?tenant=acme&days=1");

        var partial = Assert.Single(response.Json.GetProperty("partial_use").EnumerateArray());
        Assert.Equal("spiffe://acme.test" + CatalogFixture.Reader, partial.GetProperty("identity").GetString());
        Assert.Equal(["crm.read"], partial.GetProperty("unused").EnumerateArray().Select(u => u.GetString()));
    }

    public static TheoryData<string, HttpStatusCode, string> BadRequests => new()
    {
        { "?tenant=acme&days=0", HttpStatusCode.BadRequest, "invalid_request" },
        { "?tenant=acme&days=91", HttpStatusCode.BadRequest, "invalid_request" },
        { "?tenant=acme&days=-1", HttpStatusCode.BadRequest, "invalid_request" },
        { "?tenant=acme&days=%2B5", HttpStatusCode.BadRequest, "invalid_request" },
        { "?tenant=acme&days=seven", HttpStatusCode.BadRequest, "invalid_request" },
        { "?tenant=acme&days=1&days=2", HttpStatusCode.BadRequest, "invalid_request" },
        { "?tenant=acme&days=99999999999999999999", HttpStatusCode.BadRequest, "invalid_request" },

        // The route's policy decides who may ask about which tenant before anything else is read.
        { "", HttpStatusCode.Forbidden, "insufficient_scope" },
        { "?tenant=", HttpStatusCode.Forbidden, "insufficient_scope" },
        { "?tenant=acme&tenant=globex", HttpStatusCode.Forbidden, "insufficient_scope" },
        { "?tenant=globex", HttpStatusCode.Forbidden, "insufficient_scope" },
        { "?tenant=nobody", HttpStatusCode.Forbidden, "insufficient_scope" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Review_BadQueryOrOtherTenant_IsRefused(string query, HttpStatusCode status, string error)
    {
        var response = await ReviewAsync(query);

        Assert.Equal(status, response.Status);
        Assert.Equal(error, response.Error);
    }

    [Fact]
    public async Task Review_NotAnAdmin_IsForbidden_AndWithoutToken_Unauthenticated()
    {
        Assert.Equal(HttpStatusCode.Forbidden, (await ReviewAsync("?tenant=acme", CatalogFixture.Reader)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ReviewAsync("?tenant=acme", caller: null)).Status);
    }

    private static JsonElement Capability(JsonElement review, string name) =>
        review.GetProperty("capabilities").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);
}

/// <summary>The counters in memory.</summary>
public sealed class InMemoryAccessReviewTests : AccessReviewTests
{
    protected override Type StoreType => typeof(InMemoryUsageStore);

    protected override void Configure(Dictionary<string, string?> settings)
    {
    }
}

/// <summary>The counters in a real redis-server.</summary>
public sealed class RedisAccessReviewTests(RedisServerFixture redis) : AccessReviewTests
{
    protected override Type StoreType => typeof(RedisUsageStore);

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings.Configure<RedisOptions>(o =>
        {
            o.Configuration = redis.Configuration;
            o.KeyPrefix = RedisServerFixture.NewKeyPrefix();
        });
    }
}
