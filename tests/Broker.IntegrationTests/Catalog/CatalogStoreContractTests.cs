using Broker.Audit;
using Broker.Catalog;
using Broker.Grants;

namespace Broker.IntegrationTests.Catalog;

/// <summary>
/// The behaviour every <see cref="ICatalogStore"/> must have, run against each store (in-memory, Redis) by a derived
/// class: versions that only grow, compare-and-set writes, tenants apart, and the audit event and withdrawals of a
/// write recorded in the grant store's streams with it.
/// </summary>
public abstract class CatalogStoreContractTests : IAsyncLifetime
{
    protected const string Resource = "https://mcp.example.test/invoices";

    private readonly string _tenant = "tenant-" + Guid.NewGuid().ToString("N")[..8];

    protected string Tenant => _tenant;

    private protected abstract ICatalogStore Store { get; }

    /// <summary>The grant store whose streams the catalog writes to.</summary>
    private protected abstract IGrantStore Grants { get; }

    protected abstract TimeProvider Time { get; }

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    public abstract ValueTask InitializeAsync();

    public abstract ValueTask DisposeAsync();

    [Fact]
    public async Task GetAsync_NeverPublished_IsNull_AndListIsEmpty()
    {
        Assert.Null(await Store.GetAsync(Tenant, Resource, Ct));
        Assert.Empty(await Store.ListAsync(Tenant, Ct));
    }

    [Fact]
    public async Task PublishAsync_FromNothing_IsVersionOne_AndReadsBackEqual()
    {
        // Arrange
        var publication = NewPublication(1, Tool("list_invoices", "invoices.read"), Tool("create_invoice", "invoices.write", title: "Create", description: "Creates an invoice.\nTwo lines."));

        // Act
        var result = await Store.PublishAsync(publication, 0, [], Audit(publication.Version), Ct);
        var entry = await Store.GetAsync(Tenant, Resource, Ct);

        // Assert
        Assert.Equal(1, Assert.IsType<CatalogWriteResult.Written>(result).Version);
        Assert.Equal(1, entry!.Version);
        AssertSame(publication, entry.Current!);
        AssertSame(publication, Assert.Single(await Store.ListAsync(Tenant, Ct)));
        Assert.Equal(["invoices.read", "invoices.write"], entry.Current!.Capabilities());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public async Task PublishAsync_WrongExpectedVersion_WritesNothing(long expected)
    {
        // Arrange: the entry is at version 0 (nothing) for the first write.
        var publication = NewPublication(expected + 1, Tool("list_invoices", "invoices.read"));

        // Act
        var result = await Store.PublishAsync(publication, expected, [new CatalogWithdrawal(new CapabilityWithdrawal("invoices.read", Resource), Time.GetUtcNow().AddMinutes(5))], Audit(expected + 1), Ct);

        // Assert: nothing of it is stored, audited or announced.
        Assert.Equal(0, Assert.IsType<CatalogWriteResult.VersionMismatch>(result).Current);
        Assert.Null(await Store.GetAsync(Tenant, Resource, Ct));
        Assert.DoesNotContain(await Grants.ReadAuditAsync(Tenant, 100, Ct), e => e.Type == AuditEventTypes.CatalogPublish);
        Assert.Empty((await Grants.ReadRevocationsAsync(Tenant, null, 100, Ct)).Entries);
    }

    [Fact]
    public async Task UnpublishAsync_KeepsTheVersion_AndTheNextPublicationContinuesFromIt()
    {
        // Arrange
        await Store.PublishAsync(NewPublication(1, Tool("list_invoices", "invoices.read")), 0, [], Audit(1), Ct);

        // Act
        var unpublished = await Store.UnpublishAsync(Tenant, Resource, 1, [], Audit(2, AuditEventTypes.CatalogUnpublish), Ct);
        var afterUnpublish = await Store.GetAsync(Tenant, Resource, Ct);
        var stale = await Store.PublishAsync(NewPublication(1, Tool("list_invoices", "invoices.read")), 0, [], Audit(1), Ct);
        var again = await Store.PublishAsync(NewPublication(3, Tool("get_invoice", "invoices.read")), 2, [], Audit(3), Ct);

        // Assert
        Assert.Equal(2, Assert.IsType<CatalogWriteResult.Written>(unpublished).Version);
        Assert.Equal(new CatalogEntry(2, null), afterUnpublish);
        Assert.Equal(2, Assert.IsType<CatalogWriteResult.VersionMismatch>(stale).Current);
        Assert.Equal(3, Assert.IsType<CatalogWriteResult.Written>(again).Version);
        Assert.Equal("get_invoice", Assert.Single((await Store.GetAsync(Tenant, Resource, Ct))!.Current!.Tools).Name);
        Assert.Single(await Store.ListAsync(Tenant, Ct));
    }

    [Fact]
    public async Task UnpublishAsync_Unlists_AndOtherResourcesStay()
    {
        // Arrange
        const string other = "https://mcp.example.test/crm";
        await Store.PublishAsync(NewPublication(1, Tool("list_invoices", "invoices.read")), 0, [], Audit(1), Ct);
        await Store.PublishAsync(NewPublication(1, Tool("find_contact", "crm.read")) with { Resource = other }, 0, [], Audit(1), Ct);

        // Act
        await Store.UnpublishAsync(Tenant, Resource, 1, [], Audit(2, AuditEventTypes.CatalogUnpublish), Ct);

        // Assert
        Assert.Equal([other], (await Store.ListAsync(Tenant, Ct)).Select(p => p.Resource));
    }

    [Fact]
    public async Task Tenants_AreApart()
    {
        // Arrange: another tenant publishes the same resource URI (as stores see it; policy gives a URI one tenant).
        var otherTenant = "tenant-" + Guid.NewGuid().ToString("N")[..8];
        await Store.PublishAsync(NewPublication(1, Tool("list_invoices", "invoices.read")) with { Tenant = otherTenant }, 0, [], Audit(1) with { Tenant = otherTenant }, Ct);

        // Act / Assert
        Assert.Null(await Store.GetAsync(Tenant, Resource, Ct));
        Assert.Empty(await Store.ListAsync(Tenant, Ct));
        Assert.Single(await Store.ListAsync(otherTenant, Ct));
    }

    [Fact]
    public async Task Write_RecordsItsAuditEventWithTheChange()
    {
        // Arrange
        var change = new AuditCatalogChange(1, ["invoices.read/list_invoices"], [], [], []);

        // Act
        await Store.PublishAsync(NewPublication(1, Tool("list_invoices", "invoices.read")), 0, [], Audit(1) with { Catalog = change, Actor = "spiffe://example.test/servers/invoices" }, Ct);

        // Assert
        var recorded = Assert.Single(await Grants.ReadAuditAsync(Tenant, 100, Ct), e => e.Type == AuditEventTypes.CatalogPublish);
        Assert.Equal("spiffe://example.test/servers/invoices", recorded.Actor);
        Assert.Equal(change.Version, recorded.Catalog!.Version);
        Assert.Equal(change.ToolsAdded, recorded.Catalog.ToolsAdded);
        Assert.Empty(recorded.Catalog.ToolsRemoved);
    }

    [Fact]
    public async Task Withdrawals_AreInTheRevocationStream_InOrder_AndAnnounced()
    {
        // Arrange
        await using var subscription = await Grants.SubscribeRevocationsAsync(Ct);
        var start = await Grants.GetRevocationPositionAsync(Tenant, Ct);
        await Store.PublishAsync(NewPublication(1, Tool("list_invoices", "invoices.read"), Tool("create_invoice", "invoices.write")), 0, [], Audit(1), Ct);
        var keepUntil = DateTimeOffset.FromUnixTimeMilliseconds(Time.GetUtcNow().AddMinutes(5).ToUnixTimeMilliseconds());
        CatalogWithdrawal[] withdrawals =
        [
            new(new CapabilityWithdrawal("invoices.read", Resource), keepUntil),
            new(new CapabilityWithdrawal("invoices.write", Resource), keepUntil),
        ];

        // Act
        var written = Assert.IsType<CatalogWriteResult.Written>(await Store.UnpublishAsync(Tenant, Resource, 1, withdrawals, Audit(2, AuditEventTypes.CatalogUnpublish), Ct));
        var page = await Grants.ReadRevocationsAsync(Tenant, start, 100, Ct);

        // Assert: two entries after the start, in order, each a withdrawal and no grant.
        Assert.Equal(2, page.Entries.Count);
        Assert.Equal(written.Announced.Select(e => e.Position), page.Entries.Select(e => e.Position));
        Assert.True(page.Entries[0].Position > start && page.Entries[1].Position > page.Entries[0].Position);
        Assert.All(page.Entries, e =>
        {
            Assert.Equal(string.Empty, e.GrantId);
            Assert.Equal(Tenant, e.Tenant);
            Assert.Equal(keepUntil, e.ExpiresAt);
            Assert.Equal(Resource, e.Withdrawal!.Resource);
        });
        Assert.Equal(["invoices.read", "invoices.write"], page.Entries.Select(e => e.Withdrawal!.Capability));
        Assert.Equal(page.Entries[1].Position, await Grants.GetRevocationPositionAsync(Tenant, Ct));

        // Assert: announced to subscribers with the same content.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        List<RevocationEntry> heard = [];
        while (heard.Count < 2)
        {
            var entry = await subscription.Reader.ReadAsync(timeout.Token);
            if (entry.Tenant == Tenant)
            {
                heard.Add(entry);
            }
        }

        // Announcements are a wake-up, not the order (that is the stream's, asserted above): pub/sub messages may be
        // handled concurrently, so they are compared by position.
        Assert.Equal(page.Entries.Select(e => (e.Position, e.Withdrawal, e.ExpiresAt)), heard.OrderBy(e => e.Position).Select(e => (e.Position, e.Withdrawal, e.ExpiresAt)));
    }

    [Fact]
    public async Task PublishAsync_ConcurrentWritersOfOneVersion_ExactlyOneWins()
    {
        // Arrange
        await Store.PublishAsync(NewPublication(1, Tool("list_invoices", "invoices.read")), 0, [], Audit(1), Ct);

        // Act: eight writers that all read version 1.
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            await Store.PublishAsync(NewPublication(2, Tool("get_invoice", "invoices.read", title: $"writer {i}")), 1, [], Audit(2), Ct), Ct)));

        // Assert
        Assert.Single(results.OfType<CatalogWriteResult.Written>());
        Assert.All(results.OfType<CatalogWriteResult.VersionMismatch>(), r => Assert.Equal(2, r.Current));
        Assert.Equal(2, (await Store.GetAsync(Tenant, Resource, Ct))!.Version);
        Assert.Equal(2, (await Grants.ReadAuditAsync(Tenant, 100, Ct)).Count(e => e.Type == AuditEventTypes.CatalogPublish));
    }

    [Fact]
    public async Task Writes_RefuseMalformedCalls()
    {
        var publication = NewPublication(1, Tool("list_invoices", "invoices.read"));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.PublishAsync(publication with { Version = 3 }, 0, [], Audit(1), Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.PublishAsync(publication, 0, [], Audit(1) with { Tenant = "someone-else" }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.UnpublishAsync(Tenant, Resource, 0, [new CatalogWithdrawal(new CapabilityWithdrawal("x", "https://other.test/"), Time.GetUtcNow())], Audit(1), Ct));
        Assert.Null(await Store.GetAsync(Tenant, Resource, Ct));
    }

    private protected Publication NewPublication(long version, params PublishedTool[] tools) => new()
    {
        Tenant = Tenant,
        Resource = Resource,
        Version = version,
        Tools = tools,
        PublishedBy = "spiffe://example.test/servers/invoices",
        PublishedAt = DateTimeOffset.FromUnixTimeMilliseconds(Time.GetUtcNow().ToUnixTimeMilliseconds()),
        PolicyVersion = "sha256:0123456789abcdef01234567",
    };

    private protected static PublishedTool Tool(string name, string capability, string? title = null, string? description = null) =>
        new(name, capability, title, description, new string('a', 64));

    private protected AuditEvent Audit(long version, string type = AuditEventTypes.CatalogPublish) => new()
    {
        Type = type,
        Time = Time.GetUtcNow(),
        Outcome = AuditOutcome.Allowed,
        Tenant = Tenant,
        Audience = Resource,
        Catalog = new AuditCatalogChange(version, [], [], [], []),
    };

    private static void AssertSame(Publication expected, Publication actual)
    {
        Assert.Equal(expected.Tenant, actual.Tenant);
        Assert.Equal(expected.Resource, actual.Resource);
        Assert.Equal(expected.Version, actual.Version);
        Assert.Equal(expected.PublishedBy, actual.PublishedBy);
        Assert.Equal(expected.PublishedAt, actual.PublishedAt);
        Assert.Equal(expected.PolicyVersion, actual.PolicyVersion);
        Assert.Equal(expected.Tools, actual.Tools);
    }
}
