using Broker.Grants;

namespace Broker.IntegrationTests.Grants;

/// <summary>
/// Status list indexes (draft-ietf-oauth-status-list): allocated with the grant, never to two live grants, reused only
/// once their token has expired plus the margin, bits set by revocation (cascade included), a full list refused.
/// Run against every store, so the Redis scripts and the in-memory store are held to the same behaviour.
/// </summary>
public abstract partial class GrantStoreContractTests
{
    [Fact]
    public async Task RecordWithStatusAsync_NewTenant_IndexesFromZero_KeptWithTheGrant()
    {
        // Arrange
        var grants = new[] { NewGrant(), NewGrant(), NewGrant() };

        // Act
        List<int?> indexes = [];
        foreach (var grant in grants)
        {
            var outcome = await Store.RecordWithStatusAsync(grant, Issued(grant), Ct);
            Assert.Equal(RecordGrantResult.Recorded, outcome.Result);
            indexes.Add(outcome.StatusIndex);
        }

        // Assert: consecutive from 0 in a tenant's first list, and the record says which one it got.
        Assert.Equal([0, 1, 2], indexes);
        for (var i = 0; i < grants.Length; i++)
        {
            Assert.Equal(indexes[i], (await Store.FindAsync(grants[i].Id, Ct))!.StatusIndex);
        }

        Assert.All(await Store.ReadStatusListAsync(Tenant, Ct) ?? [], b => Assert.Equal(0, b));
        Assert.Null(await Store.ReadStatusListAsync(Tenant + "-none", Ct));
    }

    [Fact]
    public async Task RecordWithStatusAsync_ParallelExchanges_EachGetsAnIndexOfItsOwn()
    {
        // Arrange
        var grants = Enumerable.Range(0, 40).Select(_ => NewGrant()).ToList();

        // Act
        var outcomes = await Task.WhenAll(grants.Select(g => Store.RecordWithStatusAsync(g, Issued(g), Ct).AsTask()));

        // Assert: no index handed out twice, none skipped.
        Assert.All(outcomes, o => Assert.Equal(RecordGrantResult.Recorded, o.Result));
        Assert.Equal(Enumerable.Range(0, 40), outcomes.Select(o => o.StatusIndex!.Value).Order());
    }

    [Fact]
    public async Task RevokeAsync_SetsTheGrantsBitOnly_InTheDraftsBitOrder()
    {
        // Arrange: indexes 0 to 9; index 9 is bit 1 of byte 1.
        List<GrantRecord> grants = [];
        for (var i = 0; i < 10; i++)
        {
            grants.Add(await RecordIndexedAsync(NewGrant()));
        }

        // Act
        Assert.IsType<Revoked>(await Store.RevokeAsync(grants[9].Id, "admin", "leaked", Ct));
        Assert.IsType<Revoked>(await Store.RevokeAsync(grants[0].Id, "admin", "leaked", Ct));
        Assert.IsType<AlreadyRevoked>(await Store.RevokeAsync(grants[0].Id, "admin", "again", Ct));

        // Assert: index 0 is the least significant bit of byte 0 (§4.1).
        var list = await Store.ReadStatusListAsync(Tenant, Ct);
        Assert.NotNull(list);
        Assert.Equal(0x01, list[0]);
        Assert.Equal(0x02, list[1]);
        Assert.Equal([0, 9], Enumerable.Range(0, 16).Where(i => StatusIndexing.Get(list, i)));
    }

    [Fact]
    public async Task RevokeAsync_Cascade_SetsEveryDescendantsBit_NotTheAncestors()
    {
        // Arrange: t1 → t2 → t3, t2 → t3b (links in the records), and an unrelated grant.
        var t1 = await RecordIndexedAsync(NewGrant(taskId: "family"));
        var t2 = await RecordIndexedAsync(NewGrant(taskId: "family", parent: t1.Id));
        var t3 = await RecordIndexedAsync(NewGrant(taskId: "family", parent: t2.Id));
        var t3b = await RecordIndexedAsync(NewGrant(taskId: "family", parent: t2.Id));
        var unrelated = await RecordIndexedAsync(NewGrant(taskId: "family"));

        // Act
        var revoked = Assert.IsType<Revoked>(await Store.RevokeAsync(t2.Id, "admin", "narrowed token leaked", Ct));

        // Assert: the parent record, rewritten to hold its children, still knows its own index.
        Assert.Equal(2, revoked.Descendants.Count);
        var list = await Store.ReadStatusListAsync(Tenant, Ct);
        var indexes = new[] { t1, t2, t3, t3b, unrelated }.Select(g => g.StatusIndex!.Value).ToList();
        Assert.Equal(5, indexes.Distinct().Count());
        Assert.Equal([false, true, true, true, false], indexes.Select(i => StatusIndexing.Get(list, i)));
        Assert.Equal(t2.StatusIndex, (await Store.FindAsync(t2.Id, Ct))!.StatusIndex);
        Assert.Equal(t1.StatusIndex, (await Store.FindAsync(t1.Id, Ct))!.StatusIndex);
    }

    [Fact]
    public async Task RevokeAllAsync_SetsTheBitOfEveryGrantItRevokes()
    {
        // Arrange
        var kept = await RecordIndexedAsync(NewGrant(taskId: "kept"));
        var first = await RecordIndexedAsync(NewGrant(taskId: "stop-me"));
        var second = await RecordIndexedAsync(NewGrant(taskId: "stop-me"));

        // Act
        Assert.Equal(2, await Store.RevokeAllAsync(GrantQuery.ForTask(Tenant, "stop-me"), "admin", "task over", Ct));

        // Assert
        var list = await Store.ReadStatusListAsync(Tenant, Ct);
        Assert.False(StatusIndexing.Get(list, kept.StatusIndex!.Value));
        Assert.True(StatusIndexing.Get(list, first.StatusIndex!.Value));
        Assert.True(StatusIndexing.Get(list, second.StatusIndex!.Value));
    }

    [Fact]
    public async Task RecordWithStatusAsync_IndexOfAnExpiredToken_ReusedOnlyAfterTheMargin()
    {
        // Arrange: tokens of ShortLifetime, reusable ShortLifetime after they expire.
        var store = await CreateStoreAsync(new GrantsOptions(), ShortStatusOptions(capacity: 64));
        var first = NewGrant(lifetime: ShortLifetime);
        Assert.Equal(0, (await store.RecordWithStatusAsync(first, Issued(first), Ct)).StatusIndex);

        // Act: expired, but within the margin (a verifier behind the broker's clock may still accept it).
        await PassAsync(ShortLifetime * 1.3);
        var withinMargin = NewGrant(lifetime: TimeSpan.FromMinutes(10));
        var withinMarginIndex = (await store.RecordWithStatusAsync(withinMargin, Issued(withinMargin), Ct)).StatusIndex;

        // Act: past expiry plus the margin.
        await PassAsync(ShortLifetime * 1.3);
        var after = NewGrant(lifetime: TimeSpan.FromMinutes(10));
        var afterIndex = (await store.RecordWithStatusAsync(after, Issued(after), Ct)).StatusIndex;

        // Assert
        Assert.Equal(1, withinMarginIndex);
        Assert.Equal(0, afterIndex);
        Assert.Equal(0, (await store.FindAsync(after.Id, Ct))!.StatusIndex);
    }

    [Fact]
    public async Task RecordWithStatusAsync_IndexOfARevokedExpiredToken_BitClearedAtReuse_HandedOutOnlyAfterTheListsShowingItExpired()
    {
        // Arrange: index 0 revoked, its token expired and past the margin.
        var store = await CreateStoreAsync(new GrantsOptions(), ShortStatusOptions(capacity: 64));
        var revoked = NewGrant(lifetime: ShortLifetime);
        Assert.Equal(0, (await store.RecordWithStatusAsync(revoked, Issued(revoked), Ct)).StatusIndex);
        Assert.IsType<Revoked>(await store.RevokeAsync(revoked.Id, "admin", "leaked", Ct));
        Assert.True(StatusIndexing.Get(await store.ReadStatusListAsync(Tenant, Ct), 0));
        await PassAsync(ShortLifetime * 2.4);

        // Act: the next exchange finds index 0 still marked: it clears it, and takes a fresh index instead, because a
        // verifier may still hold a list (for up to its lifetime) that shows 0 as revoked.
        var next = NewGrant(lifetime: TimeSpan.FromMinutes(10));
        var nextIndex = (await store.RecordWithStatusAsync(next, Issued(next), Ct)).StatusIndex;
        var cleared = !StatusIndexing.Get(await store.ReadStatusListAsync(Tenant, Ct), 0);

        // Act: once no list showing the mark can be in use, index 0 is handed out again.
        await PassAsync(ShortLifetime * 2.4);
        var later = NewGrant(lifetime: TimeSpan.FromMinutes(10));
        var laterIndex = (await store.RecordWithStatusAsync(later, Issued(later), Ct)).StatusIndex;

        // Assert
        Assert.Equal(1, nextIndex);
        Assert.True(cleared);
        Assert.Equal(0, laterIndex);
        Assert.False(StatusIndexing.Get(await store.ReadStatusListAsync(Tenant, Ct), 0));
    }

    [Fact]
    public async Task RecordWithStatusAsync_ListFull_RefusedWithNothingRecorded_UntilIndexesComeFree()
    {
        // Arrange: a list of 8 indexes, all held by live tokens.
        var store = await CreateStoreAsync(new GrantsOptions(), ShortStatusOptions(capacity: 8));
        for (var i = 0; i < 8; i++)
        {
            var grant = NewGrant(lifetime: ShortLifetime);
            Assert.Equal(RecordGrantResult.Recorded, (await store.RecordWithStatusAsync(grant, Issued(grant), Ct)).Result);
        }

        // Act
        var refused = NewGrant(lifetime: TimeSpan.FromMinutes(10));
        var outcome = await store.RecordWithStatusAsync(refused, Issued(refused), Ct);
        var viaRecordAsync = NewGrant();

        // Assert: no grant, no audit event, no token (the caller fails closed).
        Assert.Equal(new RecordGrantOutcome(RecordGrantResult.StatusListFull, null), outcome);
        Assert.Equal(RecordGrantResult.StatusListFull, await store.RecordAsync(viaRecordAsync, Issued(viaRecordAsync), Ct));
        Assert.Null(await store.FindAsync(refused.Id, Ct));
        Assert.Equal(GrantState.Unknown, await store.GetStateAsync(refused.Id, Ct));
        Assert.DoesNotContain(await store.ReadAuditAsync(Tenant, 100, Ct), e => e.GrantId == refused.Id || e.GrantId == viaRecordAsync.Id);
        Assert.DoesNotContain(await store.ListAsync(GrantQuery.ForTenant(Tenant), null, 100, Ct) is { } page ? page.Grants : [], g => g.Id == refused.Id);

        // Act + Assert: once the first tokens expired past the margin, exchanges go through again.
        await PassAsync(ShortLifetime * 2.4);
        var again = NewGrant(lifetime: TimeSpan.FromMinutes(10));
        var recovered = await store.RecordWithStatusAsync(again, Issued(again), Ct);
        Assert.Equal(RecordGrantResult.Recorded, recovered.Result);
        Assert.InRange(recovered.StatusIndex!.Value, 0, 7);
    }

    [Fact]
    public async Task RecordWithStatusAsync_StatusListOff_NoIndexNoList_NoLimit()
    {
        // Arrange
        var store = await CreateStoreAsync(new GrantsOptions(), new StatusListOptions { Enabled = false, Capacity = 8 });

        // Act
        List<RecordGrantOutcome> outcomes = [];
        for (var i = 0; i < 10; i++)
        {
            var grant = NewGrant();
            outcomes.Add(await store.RecordWithStatusAsync(grant, Issued(grant), Ct));
            await store.RevokeAsync(grant.Id, "admin", "off", Ct);
        }

        // Assert
        Assert.All(outcomes, o => Assert.Equal(new RecordGrantOutcome(RecordGrantResult.Recorded, null), o));
        Assert.Null(await store.ReadStatusListAsync(Tenant, Ct));
    }

    /// <summary>Records <paramref name="grant"/> and returns it as the store knows it (with its index).</summary>
    private async Task<GrantRecord> RecordIndexedAsync(GrantRecord grant)
    {
        var outcome = await Store.RecordWithStatusAsync(grant, Issued(grant), Ct);
        Assert.Equal(RecordGrantResult.Recorded, outcome.Result);
        Assert.NotNull(outcome.StatusIndex);
        return grant with { StatusIndex = outcome.StatusIndex };
    }

    /// <summary>
    /// A list whose indexes come free <see cref="ShortLifetime"/> after their token expired, in steps of a tenth of it,
    /// and whose tokens live <see cref="ShortLifetime"/>.
    /// </summary>
    private StatusListOptions ShortStatusOptions(int capacity) => new()
    {
        Capacity = capacity,
        ReuseMargin = ShortLifetime,
        Lifetime = ShortLifetime,
        Ttl = ShortLifetime,
        ReuseGranularity = ShortLifetime / 10,
    };
}
