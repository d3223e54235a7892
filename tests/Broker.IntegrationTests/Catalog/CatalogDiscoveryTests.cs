using System.Net;
using System.Text.Json;
using Broker.Errors;
using Microsoft.Extensions.DependencyInjection;
using Broker.IntegrationTests.RevocationFeed;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.IntegrationTests.Catalog;

/// <summary>
/// <c>GET /catalog/v1/capabilities</c> over real Kestrel: exactly what each caller may discover, and whether it could
/// execute it now, across publishing states; the tenant's discovery mode; asking on behalf of a grant; and the
/// withdrawal of an unpublished capability on the revocation feed.
/// </summary>
public sealed class CatalogDiscoveryTests : IAsyncLifetime
{
    private readonly CatalogFixture _fixture = new();

    public ValueTask InitializeAsync() => new(_fixture.StartAsync());

    public ValueTask DisposeAsync() => _fixture.DisposeAsync();

    /// <summary>What is published before the caller asks.</summary>
    public enum Published
    {
        Nothing,
        Invoices,
        Everything,
    }

    public static TheoryData<string, Published, string> Views => new()
    {
        // caller, what is published, expected: capability=executable|reason, ordered by name ("" = nothing listed).
        // The reader discovers and executes reads, discovers writes only.
        { CatalogFixture.Reader, Published.Nothing, "crm.read=not_published invoices.read=not_published invoices.write=not_permitted" },
        { CatalogFixture.Reader, Published.Invoices, "crm.read=not_published invoices.read=executable invoices.write=not_permitted" },
        { CatalogFixture.Reader, Published.Everything, "crm.read=executable invoices.read=executable invoices.write=not_permitted" },

        // The auditor discovers everything and executes nothing, published or not.
        { CatalogFixture.Auditor, Published.Nothing, "crm.read=not_permitted invoices.read=not_permitted invoices.write=not_permitted" },
        { CatalogFixture.Auditor, Published.Invoices, "crm.read=not_permitted invoices.read=not_permitted invoices.write=not_permitted" },
        { CatalogFixture.Auditor, Published.Everything, "crm.read=not_permitted invoices.read=not_permitted invoices.write=not_permitted" },

        // The runner may execute invoices.read but discovers nothing: nothing is listed, whatever is published.
        { CatalogFixture.Runner, Published.Nothing, "" },
        { CatalogFixture.Runner, Published.Invoices, "" },
        { CatalogFixture.Runner, Published.Everything, "" },
    };

    [Theory]
    [MemberData(nameof(Views))]
    public async Task Discovery_ListsExactlyWhatTheCallerMayDiscover_AndWhetherItCanExecuteNow(string caller, Published published, string expected)
    {
        // Arrange
        if (published is Published.Invoices or Published.Everything)
        {
            await _fixture.PublishAllAsync(CatalogFixture.Invoices);
        }

        if (published is Published.Everything)
        {
            await _fixture.PublishAllAsync(CatalogFixture.Crm);
        }

        // Act
        var response = await _fixture.SendAsync(HttpMethod.Get, "/catalog/v1/capabilities", _fixture.Acme.Svid(caller));

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(expected, Describe(response.Json));
        Assert.Equal("acme", response.Json.GetProperty("tenant").GetString());
        Assert.Equal("required", response.Json.GetProperty("publishing").GetString());
        Assert.Equal("list_unexecutable", response.Json.GetProperty("discovery").GetString());

        // Assert: what the list says is executable is exactly what the token endpoint issues.
        foreach (var capability in response.Json.GetProperty("capabilities").EnumerateArray())
        {
            var exchange = await _fixture.ExchangeAsync(caller, capability.GetProperty("name").GetString()!, capability.GetProperty("resource").GetString()!);
            Assert.Equal(capability.GetProperty("executable").GetBoolean(), exchange.Status == HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task Discovery_Tools_ArePublishedOnes_OrPolicysNamesWhenUnpublished()
    {
        // Arrange: invoices published with one tool of invoices.read.
        await _fixture.PublishAsync(CatalogFixture.InvoicesServer, CatalogFixture.Invoices, CatalogFixture.Body(("get_invoice", "invoices.read")));

        // Act
        var response = await _fixture.SendAsync(HttpMethod.Get, "/catalog/v1/capabilities?resource=" + Uri.EscapeDataString(CatalogFixture.Invoices), _fixture.Acme.Svid(CatalogFixture.Reader));

        // Assert: only the resource asked about; published tools with their details, unpublished ones by name only.
        var capabilities = response.Json.GetProperty("capabilities").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal(["invoices.read", "invoices.write"], capabilities.Keys);
        var read = capabilities["invoices.read"];
        Assert.True(read.GetProperty("published").GetBoolean());
        Assert.Equal(1, read.GetProperty("version").GetInt64());
        var tool = Assert.Single(read.GetProperty("tools").EnumerateArray());
        Assert.Equal("get_invoice", tool.GetProperty("name").GetString());
        Assert.Equal("get invoice", tool.GetProperty("title").GetString());
        Assert.Equal(new string('0', 63) + "1", tool.GetProperty("input_schema_sha256").GetString());
        var write = capabilities["invoices.write"];
        Assert.False(write.GetProperty("published").GetBoolean());
        Assert.Equal(["create_invoice"], write.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.False(write.GetProperty("tools")[0].TryGetProperty("title", out _));
    }

    [Fact]
    public async Task Discovery_HideMode_ListsOnlyWhatTheCallerCanExecute()
    {
        // Act: globex hides what a caller cannot execute; publishing is optional there.
        var response = await _fixture.SendAsync(HttpMethod.Get, "/catalog/v1/capabilities", _fixture.Globex.Svid("/agents/a"));

        // Assert: reports.admin (discover only) is hidden; reports.read executable although unpublished.
        Assert.Equal("reports.read=executable", Describe(response.Json));
        Assert.Equal("hide", response.Json.GetProperty("discovery").GetString());
        Assert.Equal("optional", response.Json.GetProperty("publishing").GetString());
    }

    [Theory]
    [InlineData("?purpose=bad%20purpose")]
    [InlineData("?purpose=a&purpose=b")]
    [InlineData("?resource=not-a-uri")]
    [InlineData("?resource=https%3A%2F%2Fa.test&resource=https%3A%2F%2Fb.test")]
    [InlineData("?grant_id=AAAA.AAAAAAAAAAAAAAAAAAAAAA")]                                  // without resource
    [InlineData("?resource=https%3A%2F%2Fmcp.acme.test%2Finvoices&grant_id=not-a-grant")]
    public async Task Discovery_BadQuery_Is400(string query)
    {
        var response = await _fixture.SendAsync(HttpMethod.Get, "/catalog/v1/capabilities" + query, _fixture.Acme.Svid(CatalogFixture.Reader));

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(ErrorCatalog.CatalogInvalidQuery.Description, response.Json.GetProperty("error_description").GetString());
    }

    [Fact]
    public async Task Discovery_OnBehalfOfAGrant_OnlyForItsResourcesPublisher()
    {
        // Arrange: the reader holds a token for invoices.read.
        await _fixture.PublishAllAsync(CatalogFixture.Invoices);
        var token = await _fixture.ExchangeAsync(CatalogFixture.Reader, "invoices.read", CatalogFixture.Invoices);
        var grantId = new JsonWebToken(token.AccessToken).Id;
        var path = $"/catalog/v1/capabilities?resource={Uri.EscapeDataString(CatalogFixture.Invoices)}&grant_id={grantId}";

        // Act
        var server = await _fixture.SendAsync(HttpMethod.Get, path, _fixture.Acme.Svid(CatalogFixture.InvoicesServer));
        var reader = await _fixture.SendAsync(HttpMethod.Get, path, _fixture.Acme.Svid(CatalogFixture.Reader));
        var otherServer = await _fixture.SendAsync(HttpMethod.Get, $"/catalog/v1/capabilities?resource={Uri.EscapeDataString(CatalogFixture.Crm)}&grant_id={grantId}", _fixture.Acme.Svid(CatalogFixture.CrmServer));
        var globex = await _fixture.SendAsync(HttpMethod.Get, $"/catalog/v1/capabilities?resource={Uri.EscapeDataString(CatalogFixture.Reports)}&grant_id={grantId}", _fixture.Globex.Svid("/servers/reports"));

        // Assert: the server sees the reader's view of its resource; nobody else may ask, and no other resource answers.
        Assert.Equal(HttpStatusCode.OK, server.Status);
        Assert.Equal("spiffe://acme.test/agents/reader", server.Json.GetProperty("subject").GetString());
        Assert.Equal("invoices.read=executable invoices.write=not_permitted", Describe(server.Json));
        Assert.Equal(HttpStatusCode.Forbidden, reader.Status);
        Assert.Equal(HttpStatusCode.NotFound, otherServer.Status);
        Assert.Equal(HttpStatusCode.NotFound, globex.Status);
    }

    [Fact]
    public async Task Unpublish_AnnouncesTheWithdrawalOnTheRevocationFeed_InOrderWithRevocations()
    {
        // Arrange: published, a token issued, and a verifier (the invoices server) following the feed from now.
        await _fixture.PublishAllAsync(CatalogFixture.Invoices);
        var token = await _fixture.ExchangeAsync(CatalogFixture.Reader, "invoices.read", CatalogFixture.Invoices);
        Assert.Equal(HttpStatusCode.OK, token.Status);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/revocations/v1/events");
        request.Headers.Authorization = new("Bearer", _fixture.Acme.Svid(CatalogFixture.InvoicesServer));
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await _fixture.Host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        using var feed = new SseReader(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
        var ready = await feed.NextEventAsync(skipReady: false);
        Assert.Equal("ready", ready.Event);

        // Act
        var unpublished = await _fixture.UnpublishAsync(CatalogFixture.InvoicesServer, CatalogFixture.Invoices);

        // Assert: one event per capability that was published, with when and until when.
        Assert.Equal(HttpStatusCode.OK, unpublished.Status);
        var events = new[] { await feed.NextEventAsync(), await feed.NextEventAsync() };
        Assert.All(events, e => Assert.Equal("capability_withdrawn", e.Event));
        var data = events.Select(e => JsonDocument.Parse(e.Data!).RootElement).ToList();
        Assert.Equal(["invoices.read", "invoices.write"], data.Select(d => d.GetProperty("capability").GetString()).Order(StringComparer.Ordinal));
        Assert.All(data, d => Assert.Equal(CatalogFixture.Invoices, d.GetProperty("resource").GetString()));
        var read = data.Single(d => d.GetProperty("capability").GetString() == "invoices.read");
        var issuedAt = new JsonWebToken(token.AccessToken).IssuedAt;
        Assert.True(read.GetProperty("withdrawn_at").GetInt64() >= new DateTimeOffset(issuedAt).ToUnixTimeSeconds());

        // invoices.read lives at most 5 minutes (its max_lifetime), invoices.write the tenant's 10.
        Assert.InRange(read.GetProperty("until").GetInt64() - read.GetProperty("withdrawn_at").GetInt64(), 300, 302);
        var write = data.Single(d => d.GetProperty("capability").GetString() == "invoices.write");
        Assert.InRange(write.GetProperty("until").GetInt64() - write.GetProperty("withdrawn_at").GetInt64(), 600, 602);

        // Assert: a reconnecting verifier replays them from its position, like revocations.
        using var resume = new HttpRequestMessage(HttpMethod.Get, "/revocations/v1/events");
        resume.Headers.Authorization = new("Bearer", _fixture.Acme.Svid(CatalogFixture.InvoicesServer));
        resume.Headers.Accept.ParseAdd("text/event-stream");
        resume.Headers.TryAddWithoutValidation("Last-Event-ID", ready.Id);
        using var resumed = await _fixture.Host.Client.SendAsync(resume, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        using var replay = new SseReader(await resumed.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
        Assert.Equal(events.Select(e => e.Id), new[] { (await replay.NextEventAsync()).Id, (await replay.NextEventAsync()).Id });
    }

    [Fact]
    public async Task Republish_WithoutACapability_WithdrawsThatOneOnly()
    {
        await _fixture.PublishAllAsync(CatalogFixture.Invoices);
        var start = await _fixture.Host.Services.GetRequiredService<Broker.Grants.IGrantStore>().GetRevocationPositionAsync("acme", TestContext.Current.CancellationToken);

        await _fixture.PublishAsync(CatalogFixture.InvoicesServer, CatalogFixture.Invoices, CatalogFixture.Body(("list_invoices", "invoices.read")));

        var page = await _fixture.Host.Services.GetRequiredService<Broker.Grants.IGrantStore>().ReadRevocationsAsync("acme", start, 10, TestContext.Current.CancellationToken);
        Assert.Equal("invoices.write", Assert.Single(page.Entries).Withdrawal!.Capability);
    }

    [Fact]
    public async Task Unpublish_InATenantThatDoesNotRequirePublishing_WithdrawsNothing()
    {
        // Arrange: globex (publishing optional) publishes and unpublishes.
        var store = _fixture.Host.Services.GetRequiredService<Broker.Grants.IGrantStore>();
        var start = await store.GetRevocationPositionAsync("globex", TestContext.Current.CancellationToken);
        var server = _fixture.Globex.Svid("/servers/reports");
        Assert.Equal(HttpStatusCode.Created, (await _fixture.SendAsync(HttpMethod.Put, CatalogFixture.ResourcePath(CatalogFixture.Reports), server, CatalogFixture.Body(("run_report", "reports.read")))).Status);

        // Act
        var gone = await _fixture.SendAsync(HttpMethod.Delete, CatalogFixture.ResourcePath(CatalogFixture.Reports), server);

        // Assert: publication never decided execution there, so nothing is withdrawn and tokens stay valid.
        Assert.Equal(HttpStatusCode.OK, gone.Status);
        Assert.Empty(gone.Json.GetProperty("withdrawn").EnumerateArray());
        Assert.Empty((await store.ReadRevocationsAsync("globex", start, 10, TestContext.Current.CancellationToken)).Entries);
        Assert.Equal(HttpStatusCode.OK, (await _fixture.ExchangeAsync("/agents/a", "reports.read", CatalogFixture.Reports, _fixture.Globex)).Status);
    }

    /// <summary>"name=executable|reason …" in the answer's order.</summary>
    private static string Describe(JsonElement view) => string.Join(' ', view.GetProperty("capabilities").EnumerateArray().Select(c =>
        c.GetProperty("name").GetString() + "=" + (c.GetProperty("executable").GetBoolean() ? "executable" : c.GetProperty("reason").GetString())));
}
