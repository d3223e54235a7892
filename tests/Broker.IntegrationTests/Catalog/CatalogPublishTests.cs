using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Audit;
using Broker.Errors;

namespace Broker.IntegrationTests.Catalog;

/// <summary>
/// <c>PUT</c> and <c>DELETE /catalog/v1/resources</c> over real Kestrel: who may publish, what a publication may hold,
/// versions and preconditions, the audit trail, and <c>publishing: required</c> at the token endpoint.
/// </summary>
public sealed class CatalogPublishTests : IAsyncLifetime
{
    private readonly CatalogFixture _fixture = new();

    public ValueTask InitializeAsync() => new(_fixture.StartAsync());

    public ValueTask DisposeAsync() => _fixture.DisposeAsync();

    private IEnumerable<AuditEvent> Trail(string type) => _fixture.Host.AuditTrail.Where(e => e.Type == type);

    [Fact]
    public async Task Exchange_PublishingRequired_UnpublishedCapabilityIsRefused_PublishedOneIsIssued_UnpublishedAgainIsRefused()
    {
        // Arrange / Act: before anything is published.
        var before = await _fixture.ExchangeAsync(CatalogFixture.Reader, "invoices.read", CatalogFixture.Invoices);

        // Assert: refused with its own error and reason code, audited.
        Assert.Equal(HttpStatusCode.BadRequest, before.Status);
        Assert.Equal("invalid_scope", before.Error);
        Assert.Equal(ErrorCatalog.CapabilityNotPublished.Description, before.Json.GetProperty("error_description").GetString());
        Assert.Contains(_fixture.Host.AuditTrail, e => e.Type == AuditEventTypes.TokenExchange && e.Reason == "catalog.capability_not_published" && e.Tenant == "acme");

        // Act: published, the same request is issued.
        await _fixture.PublishAllAsync(CatalogFixture.Invoices);
        var after = await _fixture.ExchangeAsync(CatalogFixture.Reader, "invoices.read", CatalogFixture.Invoices);
        Assert.Equal(HttpStatusCode.OK, after.Status);

        // Act: a capability of another, unpublished resource is still refused.
        var crm = await _fixture.ExchangeAsync(CatalogFixture.Reader, "crm.read", CatalogFixture.Crm);
        Assert.Equal(ErrorCatalog.CapabilityNotPublished.Description, crm.Json.GetProperty("error_description").GetString());

        // Act: unpublished, refused again.
        Assert.Equal(HttpStatusCode.OK, (await _fixture.UnpublishAsync(CatalogFixture.InvoicesServer, CatalogFixture.Invoices)).Status);
        var again = await _fixture.ExchangeAsync(CatalogFixture.Reader, "invoices.read", CatalogFixture.Invoices);
        Assert.Equal("invalid_scope", again.Error);
        Assert.Equal(ErrorCatalog.CapabilityNotPublished.Description, again.Json.GetProperty("error_description").GetString());
    }

    [Fact]
    public async Task Exchange_PublicationWithoutOneCapability_RefusesThatOne()
    {
        // Arrange: the invoices server publishes reads only.
        Assert.Equal(HttpStatusCode.Created, (await _fixture.PublishAsync(CatalogFixture.InvoicesServer, CatalogFixture.Invoices, CatalogFixture.Body(("list_invoices", "invoices.read")))).Status);

        // Act / Assert: runner executes invoices.read (no discover needed to execute); policy has nobody executing writes.
        Assert.Equal(HttpStatusCode.OK, (await _fixture.ExchangeAsync(CatalogFixture.Runner, "invoices.read", CatalogFixture.Invoices)).Status);
        Assert.Equal("invalid_scope", (await _fixture.ExchangeAsync(CatalogFixture.Runner, "invoices.write", CatalogFixture.Invoices)).Error);
    }

    [Theory]
    [InlineData(CatalogFixture.Reader)]         // discover and execute, no publish
    [InlineData(CatalogFixture.Auditor)]        // discover only
    [InlineData(CatalogFixture.CrmServer)]      // publish, but on another resource
    public async Task Publish_WithoutPublishOnTheResource_Is403_AndAudited(string caller)
    {
        // Act
        var response = await _fixture.PublishAsync(caller, CatalogFixture.Invoices, CatalogFixture.Body(("list_invoices", "invoices.read")));

        // Assert
        Assert.Equal(HttpStatusCode.Forbidden, response.Status);
        Assert.Equal("insufficient_scope", response.Error);
        Assert.Equal(ErrorCatalog.CatalogPublishForbidden.Description, response.Json.GetProperty("error_description").GetString());
        var denied = Assert.Single(Trail(AuditEventTypes.CatalogPublish));
        Assert.Equal(AuditOutcome.Denied, denied.Outcome);
        Assert.Equal("catalog.publish_forbidden", denied.Reason);
        Assert.Equal("acme", denied.Tenant);
        Assert.Equal("spiffe://acme.test" + caller, denied.Actor);
        Assert.Equal(CatalogFixture.Invoices, denied.Audience);
        Assert.Null((await _fixture.SendAsync(HttpMethod.Get, CatalogFixture.ResourcePath(CatalogFixture.Invoices), _fixture.Acme.Svid(CatalogFixture.InvoicesServer))).ETag);
    }

    [Fact]
    public async Task Publish_ACapabilityTheCallerMayNotPublish_Is403_EvenWithPublishOnAnother()
    {
        // Act: may publish invoices.read, not invoices.write.
        var adding = await _fixture.PublishAsync(CatalogFixture.HalfPublisher, CatalogFixture.Invoices, CatalogFixture.Body(("list_invoices", "invoices.read"), ("create_invoice", "invoices.write")));

        // Arrange: the full server publishes both; the half publisher then tries to drop the write tool.
        await _fixture.PublishAllAsync(CatalogFixture.Invoices);
        var removing = await _fixture.PublishAsync(CatalogFixture.HalfPublisher, CatalogFixture.Invoices, CatalogFixture.Body(("list_invoices", "invoices.read")));
        var unpublishing = await _fixture.UnpublishAsync(CatalogFixture.HalfPublisher, CatalogFixture.Invoices);

        // Assert: each refused, audited with the capabilities concerned.
        Assert.Equal(HttpStatusCode.Forbidden, adding.Status);
        Assert.Equal(HttpStatusCode.Forbidden, removing.Status);
        Assert.Equal(HttpStatusCode.Forbidden, unpublishing.Status);
        var denials = _fixture.Host.AuditTrail.Where(e => e.Outcome == AuditOutcome.Denied && e.Reason == "catalog.publish_forbidden").ToList();
        Assert.Equal(3, denials.Count);
        Assert.All(denials, d => Assert.Equal(["invoices.read", "invoices.write"], d.RequestedCapabilities));
        Assert.Equal(1, (await _fixture.SendAsync(HttpMethod.Get, CatalogFixture.ResourcePath(CatalogFixture.Invoices), _fixture.Acme.Svid(CatalogFixture.InvoicesServer))).Json.GetProperty("version").GetInt64());
    }

    public static TheoryData<string, string, string, HttpStatusCode> BadPublications => new()
    {
        // A tool outside its capability's tools: list.
        { "tool outside capability", CatalogFixture.Invoices, CatalogFixture.Body(("delete_invoice", "invoices.read")), HttpStatusCode.BadRequest },
        { "tool of the other capability", CatalogFixture.Invoices, CatalogFixture.Body(("create_invoice", "invoices.read")), HttpStatusCode.BadRequest },

        // A capability of another resource, or of nobody.
        { "capability on another resource", CatalogFixture.Invoices, CatalogFixture.Body(("find_contact", "crm.read")), HttpStatusCode.BadRequest },
        { "unknown capability", CatalogFixture.Invoices, CatalogFixture.Body(("list_invoices", "invoices.admin")), HttpStatusCode.BadRequest },
        { "unknown resource", "https://mcp.acme.test/elsewhere", CatalogFixture.Body(("list_invoices", "invoices.read")), HttpStatusCode.BadRequest },

        // Bad JSON and shapes.
        { "not json", CatalogFixture.Invoices, "{\"tools\": [", HttpStatusCode.BadRequest },
        { "not an object", CatalogFixture.Invoices, "[]", HttpStatusCode.BadRequest },
        { "no tools member", CatalogFixture.Invoices, "{}", HttpStatusCode.BadRequest },
        { "tools null", CatalogFixture.Invoices, "{\"tools\": null}", HttpStatusCode.BadRequest },
        { "unknown member", CatalogFixture.Invoices, "{\"tools\": [], \"admin\": true}", HttpStatusCode.BadRequest },
        { "duplicate member", CatalogFixture.Invoices, "{\"tools\": [], \"tools\": []}", HttpStatusCode.BadRequest },
        { "unknown tool member", CatalogFixture.Invoices, "{\"tools\": [{\"name\":\"list_invoices\",\"capability\":\"invoices.read\",\"input_schema_sha256\":\"" + new string('a', 64) + "\",\"scope\":\"*\"}]}", HttpStatusCode.BadRequest },
        { "missing hash", CatalogFixture.Invoices, "{\"tools\": [{\"name\":\"list_invoices\",\"capability\":\"invoices.read\"}]}", HttpStatusCode.BadRequest },
        { "hash not hex", CatalogFixture.Invoices, "{\"tools\": [{\"name\":\"list_invoices\",\"capability\":\"invoices.read\",\"input_schema_sha256\":\"" + new string('A', 64) + "\"}]}", HttpStatusCode.BadRequest },
        { "name with a space", CatalogFixture.Invoices, "{\"tools\": [{\"name\":\"list invoices\",\"capability\":\"invoices.read\",\"input_schema_sha256\":\"" + new string('a', 64) + "\"}]}", HttpStatusCode.BadRequest },
        { "title with a line break", CatalogFixture.Invoices, "{\"tools\": [{\"name\":\"list_invoices\",\"capability\":\"invoices.read\",\"title\":\"a\\nb\",\"input_schema_sha256\":\"" + new string('a', 64) + "\"}]}", HttpStatusCode.BadRequest },
        { "too deep", CatalogFixture.Invoices, "{\"tools\": [{\"name\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":1}}}}}}}}]}", HttpStatusCode.BadRequest },
        { "duplicate tool", CatalogFixture.Invoices, CatalogFixture.Body(("list_invoices", "invoices.read"), ("list_invoices", "invoices.read")), HttpStatusCode.BadRequest },

        // Bounds.
        { "no tools", CatalogFixture.Invoices, "{\"tools\": []}", HttpStatusCode.BadRequest },
        { "too many tools", CatalogFixture.Invoices, CatalogFixture.Body([.. Enumerable.Repeat(("list_invoices", "invoices.read"), 9)]), HttpStatusCode.BadRequest },
        { "oversize body", CatalogFixture.Invoices, "{\"tools\": [{\"name\":\"list_invoices\",\"capability\":\"invoices.read\",\"description\":\"" + new string('x', 5000) + "\",\"input_schema_sha256\":\"" + new string('a', 64) + "\"}]}", HttpStatusCode.RequestEntityTooLarge },
    };

    [Theory]
    [MemberData(nameof(BadPublications))]
    public async Task Publish_BadPublication_IsRefused_NothingPublished_AndAudited(string why, string resource, string body, HttpStatusCode expected)
    {
        // Act
        var response = await _fixture.PublishAsync(CatalogFixture.InvoicesServer, resource, body);

        // Assert
        Assert.True(expected == response.Status, $"{why}: {response.Status} {response.Json}");
        Assert.Equal("invalid_request", response.Error);
        Assert.Null((await _fixture.SendAsync(HttpMethod.Get, CatalogFixture.ResourcePath(CatalogFixture.Invoices), _fixture.Acme.Svid(CatalogFixture.InvoicesServer))).ETag);
        var denied = Assert.Single(Trail(AuditEventTypes.CatalogPublish));
        Assert.Equal(AuditOutcome.Denied, denied.Outcome);
        Assert.StartsWith("catalog.", denied.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tool outside capability", "delete_invoice", "invoices.read", "catalog.tool_not_in_capability")]
    [InlineData("capability on another resource", "find_contact", "crm.read", "catalog.capability_not_on_resource")]
    [InlineData("unknown capability", "list_invoices", "nope", "catalog.capability_not_on_resource")]
    public async Task Publish_ToolAgainstPolicy_NamesThePreciseReason(string why, string tool, string capability, string reason)
    {
        var response = await _fixture.PublishAsync(CatalogFixture.InvoicesServer, CatalogFixture.Invoices, CatalogFixture.Body((tool, capability)));

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.True(reason == Assert.Single(Trail(AuditEventTypes.CatalogPublish)).Reason, why);
    }

    [Theory]
    [InlineData("/catalog/v1/resources", HttpStatusCode.BadRequest)]                                          // no resource
    [InlineData("/catalog/v1/resources?resource=not-a-uri", HttpStatusCode.BadRequest)]
    [InlineData("/catalog/v1/resources?resource=https%3A%2F%2Fmcp.acme.test%2Finvoices%23frag", HttpStatusCode.BadRequest)]
    [InlineData("/catalog/v1/resources?resource=https%3A%2F%2Fmcp.acme.test%2Finvoices&resource=https%3A%2F%2Fmcp.acme.test%2Fcrm", HttpStatusCode.BadRequest)]
    public async Task Publish_BadResourceParameter_Is400(string path, HttpStatusCode expected)
    {
        var response = await _fixture.SendAsync(HttpMethod.Put, path, _fixture.Acme.Svid(CatalogFixture.InvoicesServer), CatalogFixture.Body(("list_invoices", "invoices.read")));

        Assert.Equal(expected, response.Status);
        Assert.Equal(ErrorCatalog.CatalogInvalidResource.Description, response.Json.GetProperty("error_description").GetString());
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData("not-a-jwt", HttpStatusCode.Unauthorized)]
    [InlineData("stranger", HttpStatusCode.Unauthorized)]   // an SVID of a trust domain no tenant trusts
    public async Task Catalog_WithoutATenantWorkload_IsRefused(string? credential, HttpStatusCode expected)
    {
        var stranger = new Infrastructure.TestSpiffeAuthority("stranger.test", Path.Combine(_fixture.Directory.Path, "stranger.json"));
        var token = credential == "stranger" ? stranger.Svid("/x") : credential;

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Put, HttpMethod.Delete })
        {
            var response = await _fixture.SendAsync(method, method == HttpMethod.Get ? "/catalog/v1/capabilities" : CatalogFixture.ResourcePath(CatalogFixture.Invoices), token, method == HttpMethod.Put ? CatalogFixture.Body(("list_invoices", "invoices.read")) : null);
            Assert.True(expected == response.Status, $"{method} {response.Status}");
        }
    }

    [Fact]
    public async Task Publish_AnotherTenantsResource_IsRefused_AndNothingCrosses()
    {
        // Act: globex's agent (no publish anywhere) and globex's publisher, on acme's resource.
        var agent = await _fixture.SendAsync(HttpMethod.Put, CatalogFixture.ResourcePath(CatalogFixture.Invoices), _fixture.Globex.Svid("/agents/a"), CatalogFixture.Body(("list_invoices", "invoices.read")));
        var server = await _fixture.SendAsync(HttpMethod.Put, CatalogFixture.ResourcePath(CatalogFixture.Invoices), _fixture.Globex.Svid("/servers/reports"), CatalogFixture.Body(("list_invoices", "invoices.read")));

        // Assert: the resource is not globex's: forbidden for the agent, unknown for the publisher; acme has nothing.
        Assert.Equal(HttpStatusCode.Forbidden, agent.Status);
        Assert.Equal(HttpStatusCode.BadRequest, server.Status);
        Assert.Equal(ErrorCatalog.CatalogUnknownResource.Description, server.Json.GetProperty("error_description").GetString());
        Assert.Equal(2, _fixture.Host.AuditTrail.Count(e => e.Type == AuditEventTypes.CatalogPublish && e.Tenant == "globex" && e.Outcome == AuditOutcome.Denied));
        Assert.Equal(HttpStatusCode.NotFound, (await _fixture.SendAsync(HttpMethod.Get, CatalogFixture.ResourcePath(CatalogFixture.Invoices), _fixture.Acme.Svid(CatalogFixture.InvoicesServer))).Status);
    }

    [Fact]
    public async Task Publish_WrongContentType_Is400()
    {
        var response = await _fixture.SendAsync(HttpMethod.Put, CatalogFixture.ResourcePath(CatalogFixture.Invoices), _fixture.Acme.Svid(CatalogFixture.InvoicesServer), CatalogFixture.Body(("list_invoices", "invoices.read")), contentType: "text/plain");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(ErrorCatalog.CatalogInvalidBody.Description, response.Json.GetProperty("error_description").GetString());
    }

    [Fact]
    public async Task Publish_Versions_ETags_Preconditions_AndTheAuditedDiff()
    {
        var server = CatalogFixture.InvoicesServer;
        var resource = CatalogFixture.Invoices;

        // :: First publication: 201, version 1, everything added.
        var first = await _fixture.PublishAsync(server, resource, CatalogFixture.Body(("list_invoices", "invoices.read"), ("create_invoice", "invoices.write")), r => r.Headers.TryAddWithoutValidation("If-None-Match", "*"));
        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal("\"1\"", first.ETag);
        Assert.Equal(1, first.Json.GetProperty("version").GetInt64());
        Assert.Equal("spiffe://acme.test/servers/invoices", first.Json.GetProperty("published_by").GetString());
        Assert.Equal(["invoices.read/list_invoices", "invoices.write/create_invoice"], Strings(first.Json.GetProperty("changes").GetProperty("tools_added")));

        // :: If-None-Match: * once something is published: 412, with the current ETag.
        var exists = await _fixture.PublishAsync(server, resource, CatalogFixture.Body(("list_invoices", "invoices.read")), r => r.Headers.TryAddWithoutValidation("If-None-Match", "*"));
        Assert.Equal(HttpStatusCode.PreconditionFailed, exists.Status);
        Assert.Equal("\"1\"", exists.ETag);

        // :: Republish at version 1: 200, version 2; one tool removed, one added, one changed; write withdrawn.
        var changedBody = JsonSerializer.Serialize(new
        {
            tools = new object[]
            {
                new { name = "list_invoices", capability = "invoices.read", title = "List invoices (v2)", input_schema_sha256 = new string('b', 64) },
                new { name = "get_invoice", capability = "invoices.read", input_schema_sha256 = new string('c', 64) },
            },
        });
        var second = await _fixture.PublishAsync(server, resource, changedBody, r => r.Headers.IfMatch.Add(new EntityTagHeaderValue("\"1\"")));
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal("\"2\"", second.ETag);
        var changes = second.Json.GetProperty("changes");
        Assert.Equal(["invoices.read/get_invoice"], Strings(changes.GetProperty("tools_added")));
        Assert.Equal(["invoices.write/create_invoice"], Strings(changes.GetProperty("tools_removed")));
        Assert.Equal(["invoices.read/list_invoices"], Strings(changes.GetProperty("tools_changed")));
        Assert.Equal(["invoices.write"], Strings(changes.GetProperty("withdrawn")));

        // :: The stale version: 412, nothing written.
        var stale = await _fixture.PublishAsync(server, resource, CatalogFixture.Body(("list_invoices", "invoices.read")), r => r.Headers.IfMatch.Add(new EntityTagHeaderValue("\"1\"")));
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.Status);
        Assert.Equal("\"2\"", stale.ETag);
        var malformed = await _fixture.PublishAsync(server, resource, CatalogFixture.Body(("list_invoices", "invoices.read")), r => r.Headers.TryAddWithoutValidation("If-Match", "W/\"2\""));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.Status);

        // :: GET: the publication and its ETag, for the publisher and for a reader.
        var read = await _fixture.SendAsync(HttpMethod.Get, CatalogFixture.ResourcePath(resource), _fixture.Acme.Svid(CatalogFixture.Reader));
        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Equal("\"2\"", read.ETag);
        Assert.Equal(["get_invoice", "list_invoices"], read.Json.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await _fixture.SendAsync(HttpMethod.Get, CatalogFixture.ResourcePath(resource), _fixture.Acme.Svid(CatalogFixture.Runner))).Status);

        // :: Unpublish at version 2: version 3, read withdrawn; GET is 404; a second unpublish is 404.
        var gone = await _fixture.UnpublishAsync(server, resource, r => r.Headers.IfMatch.Add(new EntityTagHeaderValue("\"2\"")));
        Assert.Equal(HttpStatusCode.OK, gone.Status);
        Assert.Equal(3, gone.Json.GetProperty("version").GetInt64());
        Assert.Equal(["invoices.read"], Strings(gone.Json.GetProperty("withdrawn")));
        Assert.Equal(HttpStatusCode.NotFound, (await _fixture.SendAsync(HttpMethod.Get, CatalogFixture.ResourcePath(resource), _fixture.Acme.Svid(server))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await _fixture.UnpublishAsync(server, resource)).Status);

        // :: Published again: continues at version 4.
        var again = await _fixture.PublishAsync(server, resource, CatalogFixture.Body(("list_invoices", "invoices.read")));
        Assert.Equal(HttpStatusCode.Created, again.Status);
        Assert.Equal("\"4\"", again.ETag);

        // :: The trail: four allowed writes with their publisher, versions and diffs.
        var allowed = _fixture.Host.AuditTrail.Where(e => e.Type is AuditEventTypes.CatalogPublish or AuditEventTypes.CatalogUnpublish && e.Outcome == AuditOutcome.Allowed).ToList();
        Assert.Equal([1L, 2L, 3L, 4L], allowed.Select(e => e.Catalog!.Version));
        Assert.All(allowed, e => Assert.Equal("spiffe://acme.test/servers/invoices", e.Actor));
        Assert.Equal(["invoices.write/create_invoice"], allowed[1].Catalog!.ToolsRemoved);
        Assert.Equal(["invoices.read/get_invoice", "invoices.read/list_invoices"], allowed[2].Catalog!.ToolsRemoved);
        Assert.Equal(AuditEventTypes.CatalogUnpublish, allowed[2].Type);
        Assert.Equal(2, _fixture.Host.AuditTrail.Count(e => e.Reason == "catalog.precondition_failed"));
    }

    [Theory]
    [InlineData("/admins/alice", "create_invoice get_invoice list_invoices")]            // a tenant admin sees everything
    [InlineData(CatalogFixture.HalfPublisher, "get_invoice list_invoices")]               // publish on invoices.read only
    [InlineData(CatalogFixture.Auditor, "create_invoice get_invoice list_invoices")]      // discovers everything
    [InlineData(CatalogFixture.Runner, "")]                                               // executes blind: 404
    [InlineData(CatalogFixture.CrmServer, "")]                                            // another resource's publisher
    public async Task GetPublication_ShowsTheToolsTheCallerMaySee(string caller, string expected)
    {
        await _fixture.PublishAllAsync(CatalogFixture.Invoices);

        var response = await _fixture.SendAsync(HttpMethod.Get, CatalogFixture.ResourcePath(CatalogFixture.Invoices), _fixture.Acme.Svid(caller));

        Assert.Equal(expected.Length == 0 ? HttpStatusCode.NotFound : HttpStatusCode.OK, response.Status);
        if (expected.Length > 0)
        {
            Assert.Equal(expected, string.Join(' ', response.Json.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString())));
            Assert.Equal("\"1\"", response.ETag);
        }
    }

    [Fact]
    public async Task Publish_ConcurrentPublishersOfOneVersion_OneWins_OthersGet412()
    {
        await _fixture.PublishAllAsync(CatalogFixture.Invoices);

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => _fixture.PublishAsync(
            CatalogFixture.InvoicesServer, CatalogFixture.Invoices, CatalogFixture.Body(("get_invoice", "invoices.read")), r => r.Headers.IfMatch.Add(new EntityTagHeaderValue("\"1\"")))));

        Assert.Single(results, r => r.Status == HttpStatusCode.OK);
        Assert.All(results.Where(r => r.Status != HttpStatusCode.OK), r => Assert.Equal(HttpStatusCode.PreconditionFailed, r.Status));
    }

    [Fact]
    public async Task Metadata_AdvertisesTheCatalog()
    {
        var metadata = await _fixture.Host.Client.GetFromJsonAsync<JsonElement>("/.well-known/oauth-authorization-server", TestContext.Current.CancellationToken);

        Assert.Equal(Infrastructure.BrokerTestHost.Issuer + "/catalog/v1", metadata.GetProperty("catalog_endpoint").GetString());
    }

    private static IEnumerable<string?> Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString());
}
