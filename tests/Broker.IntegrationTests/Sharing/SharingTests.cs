using System.Net;
using System.Text.Json;
using Broker.Audit;
using Broker.Grants.InMemory;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Catalog;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.IntegrationTests.Sharing;

/// <summary>
/// Sharing across tenants (docs/sharing.md) over real Kestrel, with the grants in the in-memory store and in a real
/// redis-server: a shared capability works only when both sides agree, the grant lives in the owning tenant (whose
/// admins see and revoke it, also by consuming tenant) and is visible to the consumer's admins and no one else, the
/// token and the audit name both tenants, and discovery lists exactly what each caller may see.
/// </summary>
public abstract class SharingTests(SharingFixture fixture)
{
    private const string Reconciler = "/agents/reconciler";

    protected abstract Type StoreType { get; }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Host_UsesTheStoreUnderTest() => Assert.IsType(StoreType, fixture.Store);

    // :: Exchange

    [Fact]
    public async Task Exchange_BothSidesAgree_IssuesTheOwnersTokenNamingBothTenants()
    {
        // Act
        var response = await fixture.ExchangeAsync(fixture.Svid("payments", Reconciler), "both.de");

        // Assert: the owner's tenant, resource and capability name; the consumer in its own claim; grant and audit alike.
        Assert.Equal(HttpStatusCode.OK, response.Status);
        var token = new JsonWebToken(response.AccessToken);
        Assert.Equal("platform", token.GetClaim("tenant").Value);
        Assert.Equal("payments", token.GetClaim("consumer_tenant").Value);
        Assert.Equal("both.de", token.GetClaim("scope").Value);
        Assert.Equal([SharingFixture.Tickets], token.Audiences);
        Assert.Equal("spiffe://payments.test/agents/reconciler", token.Subject);
        var grant = await fixture.Store.FindAsync(token.Id, Ct);
        Assert.Equal(("platform", "payments"), (grant!.Tenant, grant.ConsumerTenant));
        var issued = (await fixture.Store.ReadAuditAsync("platform", 200, Ct)).Single(e => e.GrantId == token.Id);
        Assert.Equal((AuditOutcome.Allowed, "platform", "payments"), (issued.Outcome, issued.Tenant, issued.ConsumerTenant));
    }

    [Fact]
    public async Task Exchange_OwnTenantsCapability_HasNoConsumerTenant()
    {
        var response = await fixture.ExchangeAsync(fixture.Svid("platform", "/agents/triage"), "both.de");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.False(new JsonWebToken(response.AccessToken).TryGetClaim("consumer_tenant", out _));
    }

    [Theory]
    [InlineData("owner.de")]      // shared, not accepted
    [InlineData("consumer.de")]   // accepted, not shared
    [InlineData("none.de")]       // neither
    [InlineData("both.d")]        // both agree, for discovery only
    [InlineData("no.such.name")]  // does not exist anywhere
    public async Task Exchange_WithoutBothSidesForExecution_IsRefusedLikeACapabilityThatDoesNotExist(string capability)
    {
        // Act
        var response = await fixture.ExchangeAsync(fixture.Svid("payments", Reconciler), capability);
        var unknown = await fixture.ExchangeAsync(fixture.Svid("payments", Reconciler), "no.such.name");

        // Assert: the same status, error and description; nothing of the owner's policy is learnt.
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_scope", response.Error);
        Assert.Equal(unknown.Json.GetProperty("error_description").GetString(), response.Json.GetProperty("error_description").GetString());
    }

    [Fact]
    public async Task Exchange_SharesSubjectPattern_RestrictsWhichConsumerWorkloads()
    {
        Assert.Equal(HttpStatusCode.OK, (await fixture.ExchangeAsync(fixture.Svid("payments", Reconciler), "subject.de")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await fixture.ExchangeAsync(fixture.Svid("payments", "/agents/auditor"), "subject.de")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await fixture.ExchangeAsync(fixture.Svid("support", Reconciler), "subject.de")).Status);
    }

    [Fact]
    public async Task Exchange_ATenantNothingIsSharedWith_GetsNothing()
    {
        var response = await fixture.ExchangeAsync(fixture.Svid("other", Reconciler), "both.de");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_scope", response.Error);
    }

    [Fact]
    public async Task ReExchange_OfASharedToken_StaysSharedAndOnlyNarrows()
    {
        // Arrange
        var task = "task-" + Guid.NewGuid().ToString("N")[..12];
        var first = await fixture.ExchangeAsync(fixture.Svid("payments", Reconciler), "both.de both.e", task: task);
        Assert.Equal(HttpStatusCode.OK, first.Status);

        // Act
        var narrowed = await fixture.ExchangeAsync(first.AccessToken, "both.de", task: task);
        var widened = await fixture.ExchangeAsync(first.AccessToken, "both.de subject.de", task: task);

        // Assert
        Assert.Equal(HttpStatusCode.OK, narrowed.Status);
        var token = new JsonWebToken(narrowed.AccessToken);
        Assert.Equal(("platform", "payments"), (token.GetClaim("tenant").Value, token.GetClaim("consumer_tenant").Value));
        Assert.Equal(HttpStatusCode.BadRequest, widened.Status);
    }

    // :: Admin

    [Fact]
    public async Task Grant_IsVisibleAndRevocableInTheOwner_VisibleToTheConsumer_InvisibleToAThirdTenant()
    {
        // Arrange
        var response = await fixture.ExchangeAsync(fixture.Svid("payments", Reconciler), "both.de");
        var grantId = new JsonWebToken(response.AccessToken).Id;

        // Act & Assert: the owner's admin and the consumer's see it; the third tenant's is told it does not exist.
        var (ownerStatus, owner) = await fixture.SendAsync(HttpMethod.Get, $"/admin/v1/grants/{grantId}", fixture.Admin("platform"));
        Assert.Equal(HttpStatusCode.OK, ownerStatus);
        Assert.Equal("payments", owner.GetProperty("consumer_tenant").GetString());
        Assert.Equal(HttpStatusCode.OK, (await fixture.SendAsync(HttpMethod.Get, $"/admin/v1/grants/{grantId}", fixture.Admin("payments"))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.SendAsync(HttpMethod.Get, $"/admin/v1/grants/{grantId}", fixture.Admin("other"))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.SendAsync(HttpMethod.Get, $"/admin/v1/grants/{grantId}", fixture.Admin("support"))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.SendAsync(HttpMethod.Post, $"/admin/v1/grants/{grantId}/revoke", fixture.Admin("other"), new { reason = "not mine" })).Status);

        // The owner lists it among its own, and by consumer; the consumer through shared_by; the third tenant cannot.
        Assert.Contains(grantId, await ListAsync("/admin/v1/grants?tenant=platform&consumer_tenant=payments", fixture.Admin("platform")));
        Assert.DoesNotContain(grantId, await ListAsync("/admin/v1/grants?tenant=platform&consumer_tenant=support", fixture.Admin("platform")));
        Assert.Contains(grantId, await ListAsync("/admin/v1/grants?tenant=payments&shared_by=platform", fixture.Admin("payments")));
        Assert.DoesNotContain(grantId, await ListAsync("/admin/v1/grants?tenant=support&shared_by=platform", fixture.Admin("support")));
        Assert.Equal(HttpStatusCode.Forbidden, (await fixture.SendAsync(HttpMethod.Get, "/admin/v1/grants?tenant=platform&consumer_tenant=payments", fixture.Admin("payments"))).Status);
        Assert.DoesNotContain(grantId, await ListAsync("/admin/v1/grants?tenant=other&shared_by=platform", fixture.Admin("other")));

        // The owner revokes it; the revocation is on the owner's feed, for the owner's verifiers.
        var start = await fixture.Store.GetRevocationPositionAsync("platform", Ct);
        var (revokeStatus, revoked) = await fixture.SendAsync(HttpMethod.Post, $"/admin/v1/grants/{grantId}/revoke", fixture.Admin("platform"), new { reason = "review" });
        Assert.Equal(HttpStatusCode.OK, revokeStatus);
        Assert.Equal("revoked", revoked.GetProperty("result").GetString());
        var page = await fixture.Store.ReadRevocationsAsync("platform", start, 10, Ct);
        Assert.Contains(page.Entries, e => e.GrantId == grantId);
        Assert.True(await fixture.Store.IsRevokedAsync(grantId, Ct));
    }

    [Fact]
    public async Task ConsumerAdmin_MayRevokeItsWorkloadsSharedGrant()
    {
        var grantId = new JsonWebToken((await fixture.ExchangeAsync(fixture.Svid("support", Reconciler), "both.de")).AccessToken).Id;

        var (status, body) = await fixture.SendAsync(HttpMethod.Post, $"/admin/v1/grants/{grantId}/revoke", fixture.Admin("support"), new { reason = "agent retired" });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("revoked", body.GetProperty("result").GetString());
    }

    [Theory]
    [InlineData("/admin/v1/grants?tenant=platform&consumer_tenant=Not_A_Tenant!")]
    [InlineData("/admin/v1/grants?tenant=platform&consumer_tenant=payments&shared_by=payments")]
    [InlineData("/admin/v1/grants?tenant=platform&consumer_tenant=payments&consumer_tenant=support")]
    [InlineData("/admin/v1/grants?tenant=platform&shared_by=")]
    public async Task List_BadSharingFilter_IsRefused(string path)
    {
        var (status, _) = await fixture.SendAsync(HttpMethod.Get, path, fixture.Admin("platform"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
    }

    // :: The walk-through of docs/sharing.md

    [Fact]
    public async Task WalkThrough_PublishOnceShareWithTwoConsumers_OwnerRevokesOneConsumersGrants_TheOtherKeepsWorking()
    {
        // 1. The platform team's MCP server publishes its tools once, on its own resource.
        var published = await fixture.SendAsync(
            HttpMethod.Put,
            CatalogFixture.ResourcePath(SharingFixture.Tickets),
            fixture.Svid("platform", "/mcp/tickets"),
            JsonSerializer.Deserialize<JsonElement>(CatalogFixture.Body(("search_tickets", "both.de"), ("export_tickets", "both.e"))));
        Assert.True(published.Status is HttpStatusCode.OK or HttpStatusCode.Created, published.Body.ToString());

        // 2. Policy shares both.de with payments and support, and both accept it (SharingFixture). Each consumer's agent
        //    sees it, as the owner's, executable, with the published tool.
        foreach (var consumer in new[] { "payments", "support" })
        {
            var (status, discovery) = await fixture.SendAsync(HttpMethod.Get, "/catalog/v1/capabilities?resource=" + Uri.EscapeDataString(SharingFixture.Tickets), fixture.Svid(consumer, "/agents/walker"));
            Assert.Equal(HttpStatusCode.OK, status);
            var shared = discovery.GetProperty("capabilities").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "both.de");
            Assert.Equal("platform", shared.GetProperty("shared_by").GetString());
            Assert.True(shared.GetProperty("executable").GetBoolean());
            Assert.Equal("search_tickets", shared.GetProperty("tools")[0].GetProperty("name").GetString());
        }

        // 3. Workloads of both consumers exchange for it.
        var task = "walk-" + Guid.NewGuid().ToString("N")[..12];
        var payments = await fixture.ExchangeAsync(fixture.Svid("payments", "/agents/walker"), "both.de", task: task);
        var support = await fixture.ExchangeAsync(fixture.Svid("support", "/agents/walker"), "both.de", task: task);
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (payments.Status, support.Status));
        var paymentsGrant = new JsonWebToken(payments.AccessToken).Id;
        var supportGrant = new JsonWebToken(support.AccessToken).Id;

        // 4. The owner lists its grants by consumer.
        Assert.Contains(paymentsGrant, await ListAsync($"/admin/v1/grants?tenant=platform&consumer_tenant=payments&task_id={task}", fixture.Admin("platform")));
        Assert.Equal([supportGrant], await ListAsync($"/admin/v1/grants?tenant=platform&consumer_tenant=support&task_id={task}", fixture.Admin("platform")));

        // 5. The owner's access review shows the capability shared with both consumers, and who of each used it.
        await fixture.FlushUsageAsync(Ct);
        var (reviewStatus, review) = await fixture.SendAsync(HttpMethod.Get, "/admin/v1/review?tenant=platform&days=1", fixture.Admin("platform"));
        Assert.Equal(HttpStatusCode.OK, reviewStatus);
        var reviewed = review.GetProperty("capabilities").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "both.de");
        Assert.Equal(["payments", "support"], reviewed.GetProperty("shared_with").EnumerateArray().Select(t => t.GetString()));
        foreach (var consumer in new[] { "payments", "support" })
        {
            Assert.Contains(
                reviewed.GetProperty("consumers").EnumerateArray(),
                c => c.GetProperty("tenant").GetString() == consumer && c.GetProperty("identity").GetString()!.EndsWith("/agents/walker", StringComparison.Ordinal) && c.GetProperty("grants").GetInt64() >= 1);
        }

        // The consumer's own review counts its workload's use under the name its rules give it.
        var (_, paymentsReview) = await fixture.SendAsync(HttpMethod.Get, "/admin/v1/review?tenant=payments&days=1", fixture.Admin("payments"));
        Assert.True(paymentsReview.GetProperty("usage").GetProperty("grants").GetInt64() >= 1);

        // 6. The owner revokes every grant of one consumer.
        var (bulkStatus, bulk) = await fixture.SendAsync(HttpMethod.Post, "/admin/v1/grants/revoke", fixture.Admin("platform"), new { tenant = "platform", consumer_tenant = "payments", reason = "payments offboarded" });
        Assert.Equal(HttpStatusCode.OK, bulkStatus);
        Assert.True(bulk.GetProperty("revoked").GetInt32() >= 1);

        // 7. Payments' grant is revoked (and announced on the owner's feed); support's keeps working.
        Assert.True(await fixture.Store.IsRevokedAsync(paymentsGrant, Ct));
        Assert.False(await fixture.Store.IsRevokedAsync(supportGrant, Ct));
        Assert.Equal(HttpStatusCode.OK, (await fixture.ExchangeAsync(support.AccessToken, "both.de", task: task)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await fixture.ExchangeAsync(payments.AccessToken, "both.de", task: task)).Status);
    }

    // :: Discovery

    public static TheoryData<string, string, string[]> Callers => new()
    {
        // (tenant, workload, exactly what it is shown: name=executable|listed, in the order of the answer)
        { "payments", Reconciler, ["ledger.read=executable", "both.d=listed", "both.de=executable", "subject.de=executable"] },
        { "payments", "/agents/auditor", ["ledger.read=executable", "both.d=listed", "both.de=executable"] },
        { "support", Reconciler, ["ledger.read=executable", "both.d=listed", "both.de=executable"] },
        { "other", Reconciler, ["ledger.read=executable"] },
        { "platform", "/agents/triage", ["both.d=executable", "both.de=executable", "both.e=executable", "consumer.de=executable", "none.de=executable", "owner.de=executable", "subject.de=executable"] },
    };

    [Theory]
    [MemberData(nameof(Callers))]
    public async Task Discovery_ListsExactlyWhatEachCallerMaySee(string tenant, string workload, string[] expected)
    {
        // Act
        var (status, body) = await fixture.SendAsync(HttpMethod.Get, "/catalog/v1/capabilities", fixture.Svid(tenant, workload));

        // Assert: shared capabilities only where both sides give discover (both.e: execute only, hidden; owner.de,
        // consumer.de, none.de: one side or none); subject.de for the reconciler of payments only; each named by the owner.
        Assert.Equal(HttpStatusCode.OK, status);
        var listed = body.GetProperty("capabilities").EnumerateArray().ToList();
        Assert.Equal(expected, listed.Select(c => $"{c.GetProperty("name").GetString()}={(c.GetProperty("executable").GetBoolean() ? "executable" : "listed")}"));
        Assert.All(listed, c => Assert.Equal(
            tenant != "platform" && c.GetProperty("name").GetString() != "ledger.read" ? "platform" : null,
            c.TryGetProperty("shared_by", out var by) ? by.GetString() : null));
    }

    private async Task<List<string>> ListAsync(string path, string admin)
    {
        var (status, body) = await fixture.SendAsync(HttpMethod.Get, path, admin);
        Assert.Equal(HttpStatusCode.OK, status);
        return [.. body.GetProperty("grants").EnumerateArray().Select(g => g.GetProperty("grant_id").GetString()!)];
    }
}

/// <summary>On the in-memory grant store.</summary>
public sealed class InMemorySharingTests(InMemorySharingFixture fixture)
    : SharingTests(fixture), IClassFixture<InMemorySharingFixture>
{
    protected override Type StoreType => typeof(InMemoryGrantStore);
}

/// <summary>On a real redis-server.</summary>
public sealed class RedisSharingTests(RedisSharingFixture fixture)
    : SharingTests(fixture), IClassFixture<RedisSharingFixture>
{
    protected override Type StoreType => typeof(RedisGrantStore);
}
