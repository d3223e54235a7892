using Broker.Audit;
using Broker.Grants;
using Broker.Testing.Grants;

namespace Broker.IntegrationTests.Grants;

/// <summary>
/// The behaviour every <see cref="IGrantStore"/> must have. Each derived class runs all of it against one store:
/// in-memory, standalone Redis, Redis Cluster, Redis Sentinel. The cases about derived grants and the revocation
/// cascade are in <c>GrantStoreContractTests.Cascade.cs</c>.
/// </summary>
public abstract partial class GrantStoreContractTests : IAsyncLifetime
{
    private readonly string _tenant = "tenant-" + Guid.NewGuid().ToString("N")[..8];
    private IGrantStore? _store;

    /// <summary>The store under test (the first replica).</summary>
    private protected IGrantStore Store => _store ?? throw new InvalidOperationException("Not initialised.");

    protected string Tenant => _tenant;

    /// <summary>The clock the stores use.</summary>
    protected abstract TimeProvider Time { get; }

    /// <summary>A lifetime that <see cref="PassAsync"/> can outlast quickly (real Redis TTLs: about a second).</summary>
    protected abstract TimeSpan ShortLifetime { get; }

    /// <summary>
    /// A store over the same data as <see cref="Store"/>: for Redis a new connection (another replica), for the
    /// in-memory store the same instance (it has no other replicas).
    /// </summary>
    private protected abstract ValueTask<IGrantStore> CreateReplicaAsync();

    /// <summary>A store of its own (its own data for the in-memory store) with <paramref name="options"/>.</summary>
    private protected ValueTask<IGrantStore> CreateStoreAsync(GrantsOptions options) => CreateStoreAsync(options, new StatusListOptions());

    /// <summary>A store of its own (its own data for the in-memory store) with these options.</summary>
    private protected abstract ValueTask<IGrantStore> CreateStoreAsync(GrantsOptions options, StatusListOptions statusList);

    /// <summary>Lets <paramref name="duration"/> pass on the stores' clock.</summary>
    protected abstract Task PassAsync(TimeSpan duration);

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    public virtual async ValueTask InitializeAsync() => _store = await CreateReplicaAsync();

    public async ValueTask DisposeAsync()
    {
        await DisposeCoreAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what a derived class created (connections, stores).</summary>
    protected virtual ValueTask DisposeCoreAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task RecordAsync_ThenFind_ReturnsTheGrantAsActive()
    {
        // Arrange: a derived grant, so every member is set (its parent must be active: it is recorded first).
        var parent = NewGrant();
        await Store.RecordAsync(parent, Issued(parent), Ct);
        var grant = NewGrant(actorChain: ["spiffe://acme.example/orchestrator"], binding: new GrantBinding("jkt-thumbprint", null), parent: parent.Id);

        // Act
        var result = await Store.RecordAsync(grant, Issued(grant), Ct);
        var found = await Store.FindAsync(grant.Id, Ct);

        // Assert
        Assert.Equal(RecordGrantResult.Recorded, result);
        AssertSameGrant(grant, found);
        Assert.Equal(GrantStatus.Active, found!.Status);
        Assert.Null(found.Revocation);
        Assert.Equal(GrantState.Active, await Store.GetStateAsync(grant.Id, Ct));
        Assert.False(await Store.IsRevokedAsync(grant.Id, Ct));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-grant-id")]
    [InlineData("AAAA.AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("{AA}.AAAAAAAAAAAAAAAAAAAAAA")]
    public async Task FindAsync_UnknownOrMalformedId_ReturnsNullAndUnknown(string grantId)
    {
        Assert.Null(await Store.FindAsync(grantId, Ct));
        Assert.Equal(GrantState.Unknown, await Store.GetStateAsync(grantId, Ct));
        Assert.False(await Store.IsRevokedAsync(grantId, Ct));
        Assert.IsType<GrantNotFound>(await Store.RevokeAsync(grantId, "admin", "test", Ct));
    }

    [Fact]
    public async Task RecordAsync_SharedGrant_KeepsTheConsumerTenantInFindAndListing()
    {
        // Arrange: a grant of the owner's capability, for a workload of the consuming tenant.
        var grant = NewGrant() with { ConsumerTenant = "payments" };
        var own = NewGrant();

        // Act
        await Store.RecordAsync(grant, Issued(grant), Ct);
        await Store.RecordAsync(own, Issued(own), Ct);

        // Assert: the owner's tenant holds both; only the shared one names a consumer.
        AssertSameGrant(grant, await Store.FindAsync(grant.Id, Ct));
        Assert.Null((await Store.FindAsync(own.Id, Ct))!.ConsumerTenant);
        var page = await Store.ListAsync(GrantQuery.ForTenant(grant.Tenant), null, 100, Ct);
        Assert.Equal("payments", Assert.Single(page.Grants, g => g.Id == grant.Id).ConsumerTenant);
    }

    [Fact]
    public async Task RecordAsync_SameIdTwice_Throws()
    {
        var grant = NewGrant();
        await Store.RecordAsync(grant, Issued(grant), Ct);

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await Store.RecordAsync(grant, Issued(grant), Ct));
    }

    public static TheoryData<string> InvalidGrants =>
        ["foreign id", "malformed id", "expired", "expires before issued", "audit of another tenant", "parent of another tenant", "malformed parent", "its own parent"];

    [Theory]
    [MemberData(nameof(InvalidGrants))]
    public async Task RecordAsync_InvalidGrant_ThrowsAndRecordsNothing(string invalid)
    {
        // Arrange
        var grant = NewGrant();
        var issued = Issued(grant);
        (grant, issued) = invalid switch
        {
            "foreign id" => (grant with { Id = GrantId.New(Tenant + "-other") }, issued),
            "malformed id" => (grant with { Id = "jti-1" }, issued),
            "expired" => (grant with { IssuedAt = Now().AddMinutes(-10), ExpiresAt = Now().AddSeconds(-1) }, issued),
            "expires before issued" => (grant with { ExpiresAt = grant.IssuedAt.AddTicks(-TimeSpan.TicksPerMillisecond) }, issued),
            "parent of another tenant" => (grant with { ParentGrantId = GrantId.New(Tenant + "-other") }, issued),
            "malformed parent" => (grant with { ParentGrantId = "{tag}.parent" }, issued),
            "its own parent" => (grant with { ParentGrantId = grant.Id }, issued),
            _ => (grant, issued with { Tenant = Tenant + "-other" }),
        };

        // Act + Assert
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.RecordAsync(grant, issued, Ct));
        Assert.Null(await Store.FindAsync(grant.Id, Ct));
        Assert.Empty(await Store.ReadAuditAsync(Tenant, 10, Ct));
    }

    [Theory]
    [InlineData("", "reason")]
    [InlineData("admin", null)]
    [InlineData("admin", "x513")]
    [InlineData("x513", "reason")]
    public async Task RevokeAsync_InvalidRevokerOrReason_Throws(string revokedBy, string? reason)
    {
        var grant = NewGrant();
        await Store.RecordAsync(grant, Issued(grant), Ct);
        static string Expand(string? value) => value == "x513" ? new string('x', 513) : value!;

        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await Store.RevokeAsync(grant.Id, Expand(revokedBy), Expand(reason), Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await Store.RevokeAllAsync(GrantQuery.ForTenant(Tenant), Expand(revokedBy), Expand(reason), Ct));
        Assert.False(await Store.IsRevokedAsync(grant.Id, Ct));
    }

    [Fact]
    public async Task RecordAsync_AppendsTheIssuedAuditEventInTheSameStep()
    {
        // Arrange
        var grant = NewGrant();
        var issued = Issued(grant);

        // Act
        await Store.RecordAsync(grant, issued, Ct);

        // Assert
        var audit = await Store.ReadAuditAsync(Tenant, 10, Ct);
        var single = Assert.Single(audit);
        Assert.Equal(issued.Type, single.Type);
        Assert.Equal(issued.Time, single.Time);
        Assert.Equal(issued.GrantId, single.GrantId);
        Assert.Equal(issued.Subject, single.Subject);
        Assert.Equal(issued.GrantedCapabilities, single.GrantedCapabilities);
        Assert.Equal(issued.SubjectTokenSha256, single.SubjectTokenSha256);
        Assert.Equal(AuditOutcome.Allowed, single.Outcome);
    }

    [Fact]
    public async Task AppendAuditAsync_Denials_AreReadNewestFirstPerTenant()
    {
        // Arrange
        var now = Now();
        var other = Tenant + "-other";
        for (var i = 0; i < 5; i++)
        {
            await Store.AppendAuditAsync(Denial(Tenant, now.AddMilliseconds(i), $"reason-{i}"), Ct);
        }

        await Store.AppendAuditAsync(Denial(other, now, "other"), Ct);
        await Store.AppendAuditAsync(Denial(null, now, "no-tenant-" + Tenant), Ct);

        // Act
        var latest = await Store.ReadAuditAsync(Tenant, 3, Ct);
        var untenanted = await Store.ReadAuditAsync(null, 1000, Ct);

        // Assert
        Assert.Equal(["reason-4", "reason-3", "reason-2"], latest.Select(e => e.Reason));
        Assert.All(latest, e => Assert.Equal(AuditOutcome.Denied, e.Outcome));
        Assert.Contains(untenanted, e => e.Reason == "no-tenant-" + Tenant && e.Tenant is null);
        Assert.Single(await Store.ReadAuditAsync(other, 10, Ct));
    }

    [Fact]
    public async Task AppendAuditAsync_WithoutTenant_GoesToTheGlobalStream_CappedApartFromTheTenants()
    {
        // Arrange: both caps at their minimum, then a flood of events that have no tenant.
        var store = await CreateStoreAsync(new GrantsOptions { AuditMaxLength = 100, GlobalAuditMaxLength = 100 });
        var now = Now();
        await store.AppendAuditAsync(Denial(Tenant, now, "tenant-event"), Ct);
        for (var i = 0; i < 400; i++)
        {
            await store.AppendAuditAsync(Denial(null, now.AddMilliseconds(i), $"anonymous-{i}"), Ct);
        }

        // Act
        var tenant = await store.ReadAuditAsync(Tenant, 10, Ct);
        var global = await store.ReadAuditAsync(null, 1000, Ct);
        var empty = await store.ReadAuditAsync(string.Empty, 1000, Ct);

        // Assert: the tenant's event outlived the flood; the global stream was trimmed on its own cap, newest first.
        Assert.Equal("tenant-event", Assert.Single(tenant).Reason);
        Assert.InRange(global.Count, 100, 399);
        Assert.Equal("anonymous-399", global[0].Reason);
        Assert.All(global, e => Assert.Null(e.Tenant));
        Assert.Equal(global.Select(e => e.Reason), empty.Select(e => e.Reason));
    }

    [Fact]
    public async Task ListAsync_EachIndex_PagesLatestExpiryFirstWithoutGapsOrDuplicates()
    {
        // Arrange: 9 grants, expiries apart; subject A has 6 of them, task T 3 of those.
        List<GrantRecord> grants = [];
        for (var i = 0; i < 9; i++)
        {
            var grant = NewGrant(
                subject: i < 6 ? "spiffe://acme.example/a" : "spiffe://acme.example/b",
                taskId: i < 3 ? "task-T" : $"task-{i}",
                lifetime: TimeSpan.FromMinutes(10 + i));
            await Store.RecordAsync(grant, Issued(grant), Ct);
            grants.Add(grant);
        }

        var otherTenant = NewGrant(tenant: Tenant + "-other");
        await Store.RecordAsync(otherTenant, Issued(otherTenant), Ct);

        // Act
        var byTenant = await ListAllAsync(GrantQuery.ForTenant(Tenant), pageSize: 2);
        var bySubject = await ListAllAsync(GrantQuery.ForSubject(Tenant, "spiffe://acme.example/a"), pageSize: 4);
        var byTask = await ListAllAsync(GrantQuery.ForTask(Tenant, "task-T"), pageSize: 1);

        // Assert
        Assert.Equal(grants.AsEnumerable().Reverse().Select(g => g.Id), byTenant);
        Assert.Equal(grants.Take(6).Reverse().Select(g => g.Id), bySubject);
        Assert.Equal(grants.Take(3).Reverse().Select(g => g.Id), byTask);
    }

    /// <summary>
    /// How the store orders grants of equal expiry in a listing: by ID descending (false), or latest recorded first
    /// (true: Redis, whose tenant index appends a second's grants to one bucket). A subject's listing in Redis
    /// orders ties by ID descending (chunks), which the laxer check of a latest-recorded-first store accepts.
    /// </summary>
    protected virtual bool TiesLatestRecordedFirst => false;

    [Fact]
    public async Task ListAsync_EqualExpiries_InTheStoresTieOrder()
    {
        // Arrange: grants minted in one burst expire in the same millisecond.
        var expiresAt = Now().AddMinutes(10);
        List<string> ids = [];
        for (var i = 0; i < 7; i++)
        {
            var grant = NewGrant() with { ExpiresAt = expiresAt };
            await Store.RecordAsync(grant, Issued(grant), Ct);
            ids.Add(grant.Id);
        }

        // Act
        var listed = await ListAllAsync(GrantQuery.ForTenant(Tenant), pageSize: 3);

        // Assert
        Assert.Equal(TiesLatestRecordedFirst ? ids.AsEnumerable().Reverse() : ids.OrderByDescending(id => id, StringComparer.Ordinal), listed);
    }

    [Fact]
    public async Task ListAsync_HundredsOfGrantsRecordedOutOfExpiryOrder_PageInListingOrderAndRevokeOnce()
    {
        // Arrange: 400 grants of one subject recorded in a shuffled order, a fifth of them in bursts of five equal
        // expiries (Redis keeps a tenant's index in buckets per expiry, a subject's in chunks).
        const string subject = "spiffe://acme.example/ns/agents/sa/busy-agent";
        var random = new Random(1202);
        var start = Now().AddMinutes(10);
        var grants = Enumerable.Range(0, 400)
            .Select(i => NewGrant(subject: subject, taskId: "task-" + (i % 40)) with
            {
                ExpiresAt = start.AddMilliseconds(i % 5 == 0 ? i / 25 * 1000 : random.Next(0, 400_000)),
            })
            .ToList();
        foreach (var batch in grants.OrderBy(_ => random.Next()).Chunk(50))
        {
            var results = await Task.WhenAll(batch.Select(g => Store.RecordAsync(g, Issued(g), Ct).AsTask()));
            Assert.All(results, r => Assert.Equal(RecordGrantResult.Recorded, r));
        }

        // Act
        var bySubject = await ListAllAsync(GrantQuery.ForSubject(Tenant, subject), pageSize: 37);
        var byTenant = await ListAllAsync(GrantQuery.ForTenant(Tenant), pageSize: 100);
        var revoked = await Store.RevokeAllAsync(GrantQuery.ForSubject(Tenant, subject), "admin", "busy", Ct);

        // Assert
        AssertListingOrder(grants, bySubject);
        AssertListingOrder(grants, byTenant);
        Assert.Equal(400, revoked);
        Assert.Equal(400, (await Store.ReadRevocationsAsync(Tenant, null, 1000, Ct)).Entries.Select(e => e.GrantId).Distinct().Count());
    }

    [Fact]
    public async Task ListAsync_CursorOfAnotherSubjectsOrOfAnUnknownGrant_EndsTheListing()
    {
        // Arrange
        var mine = NewGrant(subject: "spiffe://acme.example/a");
        var theirs = NewGrant(subject: "spiffe://acme.example/b");
        await Store.RecordAsync(mine, Issued(mine), Ct);
        await Store.RecordAsync(theirs, Issued(theirs), Ct);
        var query = GrantQuery.ForSubject(Tenant, "spiffe://acme.example/a");

        // Act
        var afterTheirs = await Store.ListAsync(query, theirs.Id, 10, Ct);
        var afterUnknown = await Store.ListAsync(query, GrantId.New(Tenant), 10, Ct);
        var tenantAfterUnknown = await Store.ListAsync(GrantQuery.ForTenant(Tenant), GrantId.New(Tenant), 10, Ct);

        // Assert: a cursor that is not in the index reads as one that has expired.
        Assert.Empty(afterTheirs.Grants);
        Assert.Null(afterTheirs.NextCursor);
        Assert.Empty(afterUnknown.Grants);
        Assert.Null(afterUnknown.NextCursor);
        Assert.Empty(tenantAfterUnknown.Grants);
        Assert.Null(tenantAfterUnknown.NextCursor);
    }

    [Fact]
    public async Task ListAsync_ReturnsFullRecordsIncludingRevocation()
    {
        var grant = NewGrant();
        await Store.RecordAsync(grant, Issued(grant), Ct);
        await Store.RevokeAsync(grant.Id, "admin@acme", "compromised", Ct);

        var page = await Store.ListAsync(GrantQuery.ForTenant(Tenant), null, 10, Ct);

        var listed = Assert.Single(page.Grants);
        Assert.Null(page.NextCursor);
        AssertSameGrant(grant, listed);
        Assert.Equal(GrantStatus.Revoked, listed.Status);
        Assert.Equal("admin@acme", listed.Revocation?.RevokedBy);
    }

    [Fact]
    public async Task Expiry_AfterTheTokenExpires_GrantIsGoneFromFindListAndRevoke()
    {
        // Arrange
        var shortLived = NewGrant(lifetime: ShortLifetime);
        var longLived = NewGrant();
        await Store.RecordAsync(shortLived, Issued(shortLived), Ct);
        await Store.RecordAsync(longLived, Issued(longLived), Ct);
        Assert.NotNull(await Store.FindAsync(shortLived.Id, Ct));

        // Act
        await PassAsync(ShortLifetime + TimeSpan.FromMilliseconds(200));

        // Assert
        Assert.Null(await Store.FindAsync(shortLived.Id, Ct));
        Assert.Equal(GrantState.Expired, await Store.GetStateAsync(shortLived.Id, Ct));
        Assert.IsType<GrantNotFound>(await Store.RevokeAsync(shortLived.Id, "admin", "late", Ct));
        Assert.Equal([longLived.Id], await ListAllAsync(GrantQuery.ForTenant(Tenant), pageSize: 10));
        Assert.NotNull(await Store.FindAsync(longLived.Id, Ct));
    }

    [Fact]
    public async Task RevokeAsync_ActiveGrant_MarksItRevokedAndAuditsTheAdmin()
    {
        // Arrange
        var grant = NewGrant();
        await Store.RecordAsync(grant, Issued(grant), Ct);

        // Act
        var result = await Store.RevokeAsync(grant.Id, "admin@acme", "task finished", Ct);

        // Assert
        var revoked = Assert.IsType<Revoked>(result);
        Assert.Equal(grant.Id, revoked.Entry.GrantId);
        Assert.Equal(Tenant, revoked.Entry.Tenant);
        var found = await Store.FindAsync(grant.Id, Ct);
        Assert.Equal(GrantStatus.Revoked, found!.Status);
        Assert.Equal("admin@acme", found.Revocation!.RevokedBy);
        Assert.Equal("task finished", found.Revocation.Reason);
        Assert.Equal(revoked.Entry.RevokedAt, found.Revocation.RevokedAt);
        Assert.True(await Store.IsRevokedAsync(grant.Id, Ct));
        Assert.Equal(GrantState.Revoked, await Store.GetStateAsync(grant.Id, Ct));
        var audit = await Store.ReadAuditAsync(Tenant, 10, Ct);
        Assert.Equal([AuditEventTypes.GrantRevoked, AuditEventTypes.TokenExchange], audit.Select(e => e.Type));
        Assert.Equal("admin@acme", audit[0].Actor);
        Assert.Equal(grant.Id, audit[0].GrantId);
        Assert.Equal("task finished", audit[0].Reason);
    }

    [Fact]
    public async Task RevokeAsync_Twice_SecondSaysAlreadyRevokedAndKeepsTheFirst()
    {
        var grant = NewGrant();
        await Store.RecordAsync(grant, Issued(grant), Ct);
        var first = Assert.IsType<Revoked>(await Store.RevokeAsync(grant.Id, "first-admin", "first", Ct));

        var second = await Store.RevokeAsync(grant.Id, "second-admin", "second", Ct);

        var already = Assert.IsType<AlreadyRevoked>(second);
        Assert.Equal(new GrantRevocation(first.Entry.RevokedAt, "first-admin", "first"), already.Revocation);
        var stream = await Store.ReadRevocationsAsync(Tenant, null, 100, Ct);
        Assert.Single(stream.Entries);
    }

    [Fact]
    public async Task RevokeAllAsync_ByTaskSubjectTenant_RevokesEachSelectedGrantOnce()
    {
        // Arrange: subject A on task T (2), subject A on task U (1), subject B on task V (2); another tenant (1).
        var aT = await RecordManyAsync(2, "spiffe://acme.example/a", "task-T");
        var aU = await RecordManyAsync(1, "spiffe://acme.example/a", "task-U");
        var bV = await RecordManyAsync(2, "spiffe://acme.example/b", "task-V");
        var other = NewGrant(tenant: Tenant + "-other");
        await Store.RecordAsync(other, Issued(other), Ct);

        // Act + Assert
        Assert.Equal(2, await Store.RevokeAllAsync(GrantQuery.ForTask(Tenant, "task-T"), "admin", "task done", Ct));
        Assert.All(await RevokedAsync(aT), Assert.True);
        Assert.False(await Store.IsRevokedAsync(aU[0], Ct));

        Assert.Equal(1, await Store.RevokeAllAsync(GrantQuery.ForSubject(Tenant, "spiffe://acme.example/a"), "admin", "subject", Ct));
        Assert.True(await Store.IsRevokedAsync(aU[0], Ct));

        Assert.Equal(2, await Store.RevokeAllAsync(GrantQuery.ForTenant(Tenant), "admin", "tenant", Ct));
        Assert.All(await RevokedAsync(bV), Assert.True);
        Assert.Equal(0, await Store.RevokeAllAsync(GrantQuery.ForTenant(Tenant), "admin", "again", Ct));
        Assert.False(await Store.IsRevokedAsync(other.Id, Ct));

        var stream = await Store.ReadRevocationsAsync(Tenant, null, 100, Ct);
        Assert.Equal(5, stream.Entries.Count);
        Assert.Equal(5, stream.Entries.Select(e => e.GrantId).Distinct().Count());
        var first = await Store.FindAsync(aT[0], Ct);
        Assert.Equal("task done", first!.Revocation!.Reason);
    }

    [Fact]
    public async Task RevokeAllAsync_ManyGrants_RevokesAllOfThemAcrossBatches()
    {
        var ids = await RecordManyAsync(450, "spiffe://acme.example/bulk", "task-bulk");

        var count = await Store.RevokeAllAsync(GrantQuery.ForTask(Tenant, "task-bulk"), "admin", "bulk", Ct);

        Assert.Equal(450, count);
        var page = await Store.ReadRevocationsAsync(Tenant, null, 1000, Ct);
        Assert.Equal(ids.Order(StringComparer.Ordinal), page.Entries.Select(e => e.GrantId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ReadRevocationsAsync_ResumingFromTheLastPosition_MissesNothing()
    {
        // Arrange
        var ids = await RecordManyAsync(7, "spiffe://acme.example/a", "task-T");
        var other = NewGrant(tenant: Tenant + "-other");
        await Store.RecordAsync(other, Issued(other), Ct);
        await Store.RevokeAsync(other.Id, "admin", "other tenant", Ct);
        foreach (var id in ids.Take(5))
        {
            await Store.RevokeAsync(id, "admin", "x", Ct);
        }

        // Act: read in pages of two, then revoke more and resume from where we stopped.
        List<RevocationEntry> seen = [];
        StreamPosition? position = null;
        while (true)
        {
            var page = await Store.ReadRevocationsAsync(Tenant, position, 2, Ct);
            seen.AddRange(page.Entries);
            position = page.Position;
            if (page.Entries.Count == 0)
            {
                break;
            }
        }

        var atEnd = position;
        await Store.RevokeAsync(ids[5], "admin", "x", Ct);
        await Store.RevokeAsync(ids[6], "admin", "x", Ct);
        var resumed = await Store.ReadRevocationsAsync(Tenant, atEnd, 100, Ct);

        // Assert
        Assert.Equal(ids.Take(5), seen.Select(e => e.GrantId));
        Assert.All(seen, e => Assert.Equal(Tenant, e.Tenant));
        Assert.Equal(ids.Skip(5), resumed.Entries.Select(e => e.GrantId));
        Assert.Equal(resumed.Entries[^1].Position, resumed.Position);
    }

    [Fact]
    public async Task ReadRevocationsAsync_PositionOlderThanTheTrimmedHistory_SaysHistoryLost()
    {
        // Arrange: a short stream; the first revocation's position, then enough revocations to trim it away.
        var store = await CreateStoreAsync(new GrantsOptions { Retention = TimeSpan.FromSeconds(30), RevocationStreamMaxLength = 100 });
        var first = NewGrant(taskId: "first");
        await store.RecordAsync(first, Issued(first), Ct);
        var firstPosition = Assert.IsType<Revoked>(await store.RevokeAsync(first.Id, "admin", "x", Ct)).Entry.Position;
        for (var i = 0; i < 300; i++)
        {
            var grant = NewGrant(taskId: "many");
            await store.RecordAsync(grant, Issued(grant), Ct);
        }

        Assert.Equal(300, await store.RevokeAllAsync(GrantQuery.ForTask(Tenant, "many"), "admin", "x", Ct));

        // Act
        var resumedLate = await store.ReadRevocationsAsync(Tenant, firstPosition, 1000, Ct);
        var caughtUp = await store.ReadRevocationsAsync(Tenant, resumedLate.Position, 10, Ct);
        var fresh = await store.ReadRevocationsAsync(Tenant, null, 10, Ct);

        // Assert
        Assert.True(resumedLate.HistoryLost);
        Assert.True(resumedLate.Entries.Count < 300);
        Assert.False(caughtUp.HistoryLost);
        Assert.Empty(caughtUp.Entries);
        Assert.False(fresh.HistoryLost);
    }

    [Fact]
    public async Task ReadRevocationsAsync_CaughtUpReaderAfterAQuietPeriodLongerThanRetention_LosesNothing()
    {
        // Arrange: entries are kept for ShortLifetime; a reader reads the first revocation.
        var store = await CreateStoreAsync(new GrantsOptions { Retention = TimeSpan.FromSeconds(30), RevocationStreamRetention = ShortLifetime });
        var grants = new List<GrantRecord>();
        for (var i = 0; i < 3; i++)
        {
            var grant = NewGrant(lifetime: TimeSpan.FromMinutes(30));
            await store.RecordAsync(grant, Issued(grant), Ct);
            grants.Add(grant);
        }

        await store.RevokeAsync(grants[0].Id, "admin", "x", Ct);
        var position = (await store.ReadRevocationsAsync(Tenant, null, 10, Ct)).Position;

        // Act: quiet for longer than the retention, then two more revocations, each after another quiet period.
        await PassAsync(ShortLifetime + TimeSpan.FromMilliseconds(500));
        await store.RevokeAsync(grants[1].Id, "admin", "x", Ct);
        var second = await store.ReadRevocationsAsync(Tenant, position, 10, Ct);
        await PassAsync(ShortLifetime + TimeSpan.FromMilliseconds(500));
        await store.RevokeAsync(grants[2].Id, "admin", "x", Ct);
        var third = await store.ReadRevocationsAsync(Tenant, second.Position, 10, Ct);

        // Assert
        Assert.False(second.HistoryLost);
        Assert.Equal([grants[1].Id], second.Entries.Select(e => e.GrantId));
        Assert.False(third.HistoryLost);
        Assert.Equal([grants[2].Id], third.Entries.Select(e => e.GrantId));
    }

    [Fact]
    public async Task ReadRevocationsAsync_NothingTrimmed_SaysNoHistoryLost()
    {
        var grant = NewGrant();
        await Store.RecordAsync(grant, Issued(grant), Ct);
        var position = Assert.IsType<Revoked>(await Store.RevokeAsync(grant.Id, "admin", "x", Ct)).Entry.Position;

        var page = await Store.ReadRevocationsAsync(Tenant, position, 10, Ct);

        Assert.False(page.HistoryLost);
        Assert.Empty(page.Entries);
        Assert.Equal(position, page.Position);
    }

    [Fact]
    public async Task GetRevocationPositionAsync_ReadingAfterIt_ReturnsExactlyTheLaterRevocations()
    {
        // Arrange: the position of a stream with nothing in it yet, then of one with a revocation.
        var store = await CreateStoreAsync(new GrantsOptions());
        var first = NewGrant();
        var second = NewGrant();
        await store.RecordAsync(first, Issued(first), Ct);
        await store.RecordAsync(second, Issued(second), Ct);
        var empty = await store.GetRevocationPositionAsync(Tenant, Ct);
        await store.RevokeAsync(first.Id, "admin", "x", Ct);
        var afterFirst = await store.GetRevocationPositionAsync(Tenant, Ct);

        // Act
        await store.RevokeAsync(second.Id, "admin", "x", Ct);
        var fromEmpty = await store.ReadRevocationsAsync(Tenant, empty, 10, Ct);
        var fromFirst = await store.ReadRevocationsAsync(Tenant, afterFirst, 10, Ct);

        // Assert: positions move forward, and neither reader is told of a loss.
        Assert.True(empty < afterFirst);
        Assert.Equal([first.Id, second.Id], fromEmpty.Entries.Select(e => e.GrantId));
        Assert.Equal([second.Id], fromFirst.Entries.Select(e => e.GrantId));
        Assert.False(fromEmpty.HistoryLost);
        Assert.False(fromFirst.HistoryLost);
    }

    [Fact]
    public async Task ReadRevocationsAsync_AfterTheLargestPosition_ReadsNothing()
    {
        // Arrange: a revocation, so that the stream exists.
        var grant = NewGrant();
        await Store.RecordAsync(grant, Issued(grant), Ct);
        await Store.RevokeAsync(grant.Id, "admin", "x", Ct);

        // Act: a position nothing can follow (Redis refuses an exclusive range that starts there).
        var page = await Store.ReadRevocationsAsync(Tenant, StreamPosition.MaxValue, 10, Ct);

        // Assert
        Assert.Empty(page.Entries);
        Assert.Equal(StreamPosition.MaxValue, page.Position);
    }

    [Fact]
    public async Task SubscribeRevocationsAsync_RevocationOnOneReplica_IsAnnouncedOnAnother()
    {
        // Arrange
        var replica = await CreateReplicaAsync();
        await using var subscription = await replica.SubscribeRevocationsAsync(Ct);
        var grant = NewGrant();
        await Store.RecordAsync(grant, Issued(grant), Ct);

        // Act
        var revoked = Assert.IsType<Revoked>(await Store.RevokeAsync(grant.Id, "admin", "x", Ct));

        // Assert
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        RevocationEntry announced;
        do
        {
            announced = await subscription.Reader.ReadAsync(timeout.Token);
        }
        while (announced.GrantId != grant.Id);

        Assert.Equal(revoked.Entry, announced);
    }

    [Fact]
    public async Task RevokeAsync_FiftyInParallel_ExactlyOneRevokes()
    {
        // Arrange
        var grant = NewGrant();
        await Store.RecordAsync(grant, Issued(grant), Ct);
        var replica = await CreateReplicaAsync();

        // Act: half through each replica, all at once.
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            Task.Run(async () => await (i % 2 == 0 ? Store : replica).RevokeAsync(grant.Id, $"admin-{i}", "race", Ct), Ct)));

        // Assert
        var winner = Assert.IsType<Revoked>(Assert.Single(results, r => r is Revoked));
        Assert.Equal(49, results.Count(r => r is AlreadyRevoked));
        var winnerRevocation = (await Store.FindAsync(grant.Id, Ct))!.Revocation!;
        Assert.All(results.OfType<AlreadyRevoked>(), r => Assert.Equal(winnerRevocation, r.Revocation));
        Assert.Equal(winner.Entry.RevokedAt, winnerRevocation.RevokedAt);
        Assert.Single((await Store.ReadRevocationsAsync(Tenant, null, 100, Ct)).Entries);
        Assert.Single(await Store.ReadAuditAsync(Tenant, 100, Ct), e => e.Type == AuditEventTypes.GrantRevoked);
    }

    [Fact]
    public async Task RecordAsync_SameGrantInParallel_ExactlyOneIsRecorded()
    {
        var grant = NewGrant();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(async () =>
        {
            try
            {
                await Store.RecordAsync(grant, Issued(grant), Ct);
                return true;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }, Ct)));

        Assert.Single(outcomes, recorded => recorded);
        Assert.Single(await Store.ReadAuditAsync(Tenant, 100, Ct));
    }

    protected DateTimeOffset Now() => DateTimeOffset.FromUnixTimeMilliseconds(Time.GetUtcNow().ToUnixTimeMilliseconds());

    private protected GrantRecord NewGrant(
        string? tenant = null,
        string subject = "spiffe://acme.example/ns/agents/sa/research-agent",
        string taskId = "task-7f3c2a9e",
        TimeSpan? lifetime = null,
        IReadOnlyList<string>? actorChain = null,
        GrantBinding? binding = null,
        string? parent = null)
    {
        tenant ??= Tenant;
        var now = Now();
        return new GrantRecord
        {
            Id = GrantId.New(tenant),
            Tenant = tenant,
            Subject = subject,
            ClientId = actorChain is { Count: > 0 } ? actorChain[0] : subject,
            ActorChain = actorChain ?? [],
            Capabilities = ["files.read", "search.query"],
            Audience = "https://mcp.acme.example/files",
            TaskId = taskId,
            Purpose = "summarise the quarterly report",
            IssuedAt = now,
            ExpiresAt = now + (lifetime ?? TimeSpan.FromMinutes(10)),
            Binding = binding,
            PolicyVersion = "sha256-Yt0nN3gkA0bS3rQ6yJ8c2mTt9u1w4x5z7a8b9c0d1e2",
            ParentGrantId = parent,
        };
    }

    private protected static AuditEvent Issued(GrantRecord grant) => TestGrants.Issued(grant);

    private static AuditEvent Denial(string? tenant, DateTimeOffset time, string reason) => new()
    {
        Type = AuditEventTypes.TokenExchange,
        Time = time,
        Outcome = AuditOutcome.Denied,
        Error = "invalid_scope",
        Reason = reason,
        Tenant = tenant,
        RequestedCapabilities = ["files.write"],
    };

    private async Task<bool[]> RevokedAsync(IEnumerable<string> ids)
        => await Task.WhenAll(ids.Select(id => Store.IsRevokedAsync(id, Ct).AsTask()));

    private async Task<List<string>> RecordManyAsync(int count, string subject, string taskId)
    {
        List<string> ids = [];
        for (var i = 0; i < count; i++)
        {
            var grant = NewGrant(subject: subject, taskId: taskId, lifetime: TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(i));
            await Store.RecordAsync(grant, Issued(grant), Ct);
            ids.Add(grant.Id);
        }

        return ids;
    }

    /// <summary>
    /// <paramref name="listed"/> is every grant once, latest expiry first; equal expiries by ID descending, or, where the
    /// store lists them latest recorded first, in the order concurrent recording left them (unknown to the test).
    /// </summary>
    private void AssertListingOrder(IReadOnlyList<GrantRecord> grants, List<string> listed)
    {
        var expected = grants.OrderByDescending(g => g.ExpiresAt).ThenByDescending(g => g.Id, StringComparer.Ordinal).ToList();
        if (!TiesLatestRecordedFirst)
        {
            Assert.Equal(expected.Select(g => g.Id), listed);
            return;
        }

        var expiries = grants.ToDictionary(g => g.Id, g => g.ExpiresAt);
        Assert.Equal(expected.Select(g => g.Id).Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        Assert.Equal(expected.Select(g => g.ExpiresAt), listed.Select(id => expiries[id]));
    }

    /// <summary>Every grant ID of a listing, page by page from no cursor to the end.</summary>
    private protected async Task<List<string>> ListAllAsync(GrantQuery query, int pageSize)
    {
        List<string> ids = [];
        string? cursor = null;
        for (var pages = 0; pages < 1000; pages++)
        {
            var page = await Store.ListAsync(query, cursor, pageSize, Ct);
            Assert.True(page.Grants.Count <= pageSize);
            ids.AddRange(page.Grants.Select(g => g.Id));
            cursor = page.NextCursor;
            if (cursor is null)
            {
                return ids;
            }
        }

        throw new InvalidOperationException("The listing did not end.");
    }

    private protected static void AssertSameGrant(GrantRecord expected, GrantRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Tenant, actual.Tenant);
        Assert.Equal(expected.Subject, actual.Subject);
        Assert.Equal(expected.ClientId, actual.ClientId);
        Assert.Equal(expected.ActorChain, actual.ActorChain);
        Assert.Equal(expected.Capabilities, actual.Capabilities);
        Assert.Equal(expected.Audience, actual.Audience);
        Assert.Equal(expected.TaskId, actual.TaskId);
        Assert.Equal(expected.Purpose, actual.Purpose);
        Assert.Equal(expected.IssuedAt, actual.IssuedAt);
        Assert.Equal(expected.ExpiresAt, actual.ExpiresAt);
        Assert.Equal(expected.Binding, actual.Binding);
        Assert.Equal(expected.PolicyVersion, actual.PolicyVersion);
        Assert.Equal(expected.ParentGrantId, actual.ParentGrantId);
        Assert.Equal(expected.ConsumerTenant, actual.ConsumerTenant);
    }
}
