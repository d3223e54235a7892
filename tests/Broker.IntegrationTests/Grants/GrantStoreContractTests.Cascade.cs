using System.Collections.Concurrent;
using Broker.Audit;
using Broker.Grants;

namespace Broker.IntegrationTests.Grants;

/// <summary>
/// Derived grants (re-exchange, delegation): recorded only while their parent is active, and revoked with any of
/// their ancestors, in one atomic step, with a stream entry and an audit event each. Run against every store.
/// </summary>
public abstract partial class GrantStoreContractTests
{
    [Fact]
    public async Task RevokeAsync_RootOfAFamily_RevokesEveryDescendantWithItsOwnStreamEntryAndAuditEvent()
    {
        // Arrange: t1 → t2 → t3 and t1 → t2b; an unrelated grant of the same task.
        var t1 = await RecordAsync(NewGrant(taskId: "family"));
        var t2 = await RecordAsync(NewGrant(taskId: "family", lifetime: TimeSpan.FromMinutes(9), parent: t1.Id));
        var t2b = await RecordAsync(NewGrant(taskId: "family", lifetime: TimeSpan.FromMinutes(8), parent: t1.Id));
        var t3 = await RecordAsync(NewGrant(taskId: "family", lifetime: TimeSpan.FromMinutes(7), parent: t2.Id));
        var unrelated = await RecordAsync(NewGrant(taskId: "family"));

        // Act
        var result = await Store.RevokeAsync(t1.Id, "admin@acme", "compromised", Ct);

        // Assert: the result names each descendant, parents before children, with its token's expiry.
        var revoked = Assert.IsType<Revoked>(result);
        Assert.Equal(t1.ExpiresAt, revoked.Entry.ExpiresAt);
        Assert.Equal([t2.Id, t2b.Id, t3.Id], revoked.Descendants.Select(e => e.GrantId));
        Assert.Equal([t2.ExpiresAt, t2b.ExpiresAt, t3.ExpiresAt], revoked.Descendants.Select(e => e.ExpiresAt));
        Assert.All(revoked.Descendants, e => Assert.Equal((Tenant, revoked.Entry.RevokedAt), (e.Tenant, e.RevokedAt)));

        // Assert: each is marked, by the same admin, with a reason naming the ancestor.
        var descendantRevocation = new GrantRevocation(revoked.Entry.RevokedAt, "admin@acme", GrantValidation.DescendantReason(t1.Id, "compromised"));
        foreach (var grant in new[] { t2, t2b, t3 })
        {
            var found = await Store.FindAsync(grant.Id, Ct);
            Assert.Equal(GrantStatus.Revoked, found!.Status);
            Assert.Equal(descendantRevocation, found.Revocation);
            Assert.Equal(GrantState.Revoked, await Store.GetStateAsync(grant.Id, Ct));
        }

        Assert.Equal(GrantState.Active, await Store.GetStateAsync(unrelated.Id, Ct));

        // Assert: one stream entry per revoked grant, as the result says; one audit event each (newest first).
        var stream = await Store.ReadRevocationsAsync(Tenant, null, 100, Ct);
        Assert.Equal([revoked.Entry, .. revoked.Descendants], stream.Entries);
        var audit = (await Store.ReadAuditAsync(Tenant, 100, Ct)).Where(e => e.Type == AuditEventTypes.GrantRevoked).ToList();
        Assert.Equal([t3.Id, t2b.Id, t2.Id, t1.Id], audit.Select(e => e.GrantId));
        Assert.All(audit, e => Assert.Equal(("admin@acme", "family", t1.Subject), (e.Actor, e.TaskId, e.Subject)));
        Assert.Equal("compromised", audit[^1].Reason);
        Assert.All(audit.Take(3), e => Assert.Equal(descendantRevocation.Reason, e.Reason));
    }

    [Fact]
    public async Task RevokeAsync_MiddleOfAChain_RevokesWhatDescendsFromItAndLeavesItsAncestorActive()
    {
        // Arrange: t1 → t2 → t3.
        var t1 = await RecordAsync(NewGrant());
        var t2 = await RecordAsync(NewGrant(parent: t1.Id));
        var t3 = await RecordAsync(NewGrant(parent: t2.Id));

        // Act
        var revoked = Assert.IsType<Revoked>(await Store.RevokeAsync(t2.Id, "admin", "narrowed token leaked", Ct));

        // Assert: t1 stays usable (it can still be narrowed again); nothing can be derived from t2 or t3.
        Assert.Equal([t3.Id], revoked.Descendants.Select(e => e.GrantId));
        Assert.Equal(GrantState.Active, await Store.GetStateAsync(t1.Id, Ct));
        Assert.Equal(GrantState.Revoked, await Store.GetStateAsync(t2.Id, Ct));
        Assert.Equal(GrantState.Revoked, await Store.GetStateAsync(t3.Id, Ct));
        var again = NewGrant(parent: t1.Id);
        Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(again, Issued(again), Ct));
        foreach (var parent in new[] { t2, t3 })
        {
            var child = NewGrant(parent: parent.Id);
            Assert.Equal(RecordGrantResult.ParentNotActive, await Store.RecordAsync(child, Issued(child), Ct));
        }
    }

    [Theory]
    [InlineData("revoked")]
    [InlineData("ancestor revoked")]
    [InlineData("expired")]
    [InlineData("unknown")]
    public async Task RecordAsync_ParentNotActive_RecordsNothingAndSaysSo(string parentState)
    {
        // Arrange
        var grandparent = await RecordAsync(NewGrant());
        var parent = NewGrant(lifetime: parentState == "expired" ? ShortLifetime : null, parent: grandparent.Id);
        if (parentState != "unknown")
        {
            await RecordAsync(parent);
        }

        switch (parentState)
        {
            case "revoked":
                await Store.RevokeAsync(parent.Id, "admin", "x", Ct);
                break;
            case "ancestor revoked":
                await Store.RevokeAsync(grandparent.Id, "admin", "x", Ct);
                break;
            case "expired":
                await PassAsync(ShortLifetime + TimeSpan.FromMilliseconds(200));
                break;
        }

        var auditBefore = (await Store.ReadAuditAsync(Tenant, 100, Ct)).Count;
        var child = NewGrant(parent: parent.Id);

        // Act
        var result = await Store.RecordAsync(child, Issued(child), Ct);

        // Assert: no record, no index entry, no audit event (the exchange audits its denial itself).
        Assert.Equal(RecordGrantResult.ParentNotActive, result);
        Assert.Null(await Store.FindAsync(child.Id, Ct));
        Assert.Equal(GrantState.Unknown, await Store.GetStateAsync(child.Id, Ct));
        Assert.DoesNotContain(child.Id, (await Store.ListAsync(GrantQuery.ForTenant(Tenant), null, 100, Ct)).Grants.Select(g => g.Id));
        Assert.Equal(auditBefore, (await Store.ReadAuditAsync(Tenant, 100, Ct)).Count);
    }

    [Fact]
    public async Task RecordAsync_ParentOfAnotherTenantWithTheSameRoutingTag_ThrowsAndRecordsNothing()
    {
        // Arrange: two tenant names whose routing tags collide (found by search), so the IDs alone cannot tell.
        const string tenant = "collide-5791";
        const string other = "collide-8577";
        Assert.Equal(GrantId.RoutingTag(tenant), GrantId.RoutingTag(other));
        var parent = await RecordAsync(NewGrant(tenant: tenant));
        var child = NewGrant(tenant: other, parent: parent.Id);

        // Act + Assert
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.RecordAsync(child, Issued(child), Ct));
        Assert.Null(await Store.FindAsync(child.Id, Ct));
        Assert.Equal(GrantState.Active, await Store.GetStateAsync(parent.Id, Ct));
    }

    [Fact]
    public async Task RevokeAsync_ManyChildrenAndGrandchildren_RevokesThemAll()
    {
        // Arrange: more children than a Redis record holds itself, and grandchildren under the first and the last.
        var root = await RecordAsync(NewGrant());
        List<GrantRecord> children = [];
        for (var i = 0; i < 20; i++)
        {
            children.Add(await RecordAsync(NewGrant(parent: root.Id, lifetime: TimeSpan.FromMinutes(9))));
        }

        var first = await RecordAsync(NewGrant(parent: children[0].Id, lifetime: TimeSpan.FromMinutes(8)));
        var last = await RecordAsync(NewGrant(parent: children[^1].Id, lifetime: TimeSpan.FromMinutes(8)));

        // Act
        var revoked = Assert.IsType<Revoked>(await Store.RevokeAsync(root.Id, "admin", "x", Ct));

        // Assert
        Assert.Equal([.. children.Select(c => c.Id), first.Id, last.Id], revoked.Descendants.Select(e => e.GrantId));
        foreach (var grant in children.Append(first).Append(last))
        {
            Assert.True(await Store.IsRevokedAsync(grant.Id, Ct));
        }

        Assert.Equal(23, (await Store.ReadRevocationsAsync(Tenant, null, 100, Ct)).Entries.Count);
    }

    [Fact]
    public async Task RevokeAsync_DescendantsExpiredOrAlreadyRevoked_AreWalkedThroughButNotMarkedAgain()
    {
        // Arrange: root → short-lived → long-lived; root → revoked earlier → revoked with it.
        var root = await RecordAsync(NewGrant(lifetime: TimeSpan.FromMinutes(30)));
        var shortLived = await RecordAsync(NewGrant(parent: root.Id, lifetime: ShortLifetime));
        var underShortLived = await RecordAsync(NewGrant(parent: shortLived.Id, lifetime: TimeSpan.FromMinutes(20)));
        var revokedEarlier = await RecordAsync(NewGrant(parent: root.Id));
        var underRevokedEarlier = await RecordAsync(NewGrant(parent: revokedEarlier.Id));
        var earlier = Assert.IsType<Revoked>(await Store.RevokeAsync(revokedEarlier.Id, "first-admin", "first", Ct));
        Assert.Equal([underRevokedEarlier.Id], earlier.Descendants.Select(e => e.GrantId));
        await PassAsync(ShortLifetime + TimeSpan.FromMilliseconds(200));

        // Act
        var revoked = Assert.IsType<Revoked>(await Store.RevokeAsync(root.Id, "admin", "later", Ct));

        // Assert: only the live, unrevoked descendant is marked; the earlier revocations stand as they were.
        Assert.Equal([underShortLived.Id], revoked.Descendants.Select(e => e.GrantId));
        Assert.Equal(GrantValidation.DescendantReason(root.Id, "later"), (await Store.FindAsync(underShortLived.Id, Ct))!.Revocation!.Reason);
        Assert.Equal(GrantState.Expired, await Store.GetStateAsync(shortLived.Id, Ct));
        Assert.Equal(("first-admin", "first"), RevokedByAndWhy(await Store.FindAsync(revokedEarlier.Id, Ct)));
        Assert.Equal(("first-admin", GrantValidation.DescendantReason(revokedEarlier.Id, "first")), RevokedByAndWhy(await Store.FindAsync(underRevokedEarlier.Id, Ct)));
        Assert.Equal(4, (await Store.ReadRevocationsAsync(Tenant, null, 100, Ct)).Entries.Count);

        static (string, string) RevokedByAndWhy(GrantRecord? grant) => (grant!.Revocation!.RevokedBy, grant.Revocation.Reason);
    }

    [Fact]
    public async Task SubscribeRevocationsAsync_Cascade_AnnouncesEveryRevokedGrantWithItsExpiry()
    {
        // Arrange
        var replica = await CreateReplicaAsync();
        await using var subscription = await replica.SubscribeRevocationsAsync(Ct);
        var root = await RecordAsync(NewGrant());
        var child = await RecordAsync(NewGrant(parent: root.Id, lifetime: TimeSpan.FromMinutes(5)));
        var grandchild = await RecordAsync(NewGrant(parent: child.Id, lifetime: TimeSpan.FromMinutes(4)));
        HashSet<string> family = [root.Id, child.Id, grandchild.Id];

        // Act
        var revoked = Assert.IsType<Revoked>(await Store.RevokeAsync(root.Id, "admin", "x", Ct));

        // Assert
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        List<RevocationEntry> announced = [];
        while (announced.Count < 3)
        {
            var entry = await subscription.Reader.ReadAsync(timeout.Token);
            if (family.Contains(entry.GrantId))
            {
                announced.Add(entry);
            }
        }

        // Announcements are a wake-up, not ordered (the stream is the record): compare them as a set.
        RevocationEntry[] expected = [revoked.Entry, .. revoked.Descendants];
        Assert.Equal(expected.OrderBy(e => e.GrantId, StringComparer.Ordinal), announced.OrderBy(e => e.GrantId, StringComparer.Ordinal));
        Assert.Equal([root.ExpiresAt, child.ExpiresAt, grandchild.ExpiresAt], expected.Select(e => e.ExpiresAt));
    }

    [Fact]
    public async Task RevokeAllAsync_ParentAndChildBothSelected_RevokesEachOnceAndCountsEveryGrant()
    {
        // Arrange: parent and child in task T, a grandchild recorded (directly) under another task.
        var parent = await RecordAsync(NewGrant(taskId: "task-T"));
        var child = await RecordAsync(NewGrant(taskId: "task-T", parent: parent.Id, lifetime: TimeSpan.FromMinutes(9)));
        var grandchild = await RecordAsync(NewGrant(taskId: "task-U", parent: child.Id, lifetime: TimeSpan.FromMinutes(8)));

        // Act
        var count = await Store.RevokeAllAsync(GrantQuery.ForTask(Tenant, "task-T"), "admin", "task done", Ct);

        // Assert
        Assert.Equal(3, count);
        var stream = await Store.ReadRevocationsAsync(Tenant, null, 100, Ct);
        Assert.Equal(new[] { parent.Id, child.Id, grandchild.Id }.Order(), stream.Entries.Select(e => e.GrantId).Order());
        Assert.True(await Store.IsRevokedAsync(grandchild.Id, Ct));
    }

    [Fact]
    public async Task RecordAsync_DescendantsRecordedWhileTheirAncestorIsRevoked_NoneStaysActive()
    {
        // Arrange: eight workers, half on each of two replicas, narrow the parent again and again and each new grant
        // once more, until the store refuses; once 20 are recorded, one of them revokes the parent mid-stream.
        var parent = await RecordAsync(NewGrant());
        var replica = await CreateReplicaAsync();
        ConcurrentBag<string> recorded = [];
        ConcurrentBag<string> refused = [];
        var recordedCount = 0;
        var revocation = new TaskCompletionSource<RevokeResult>(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task<bool> TryRecordAsync(IGrantStore store, GrantRecord grant)
        {
            if (await store.RecordAsync(grant, Issued(grant), Ct) == RecordGrantResult.Recorded)
            {
                recorded.Add(grant.Id);
                if (Interlocked.Increment(ref recordedCount) == 20)
                {
                    try
                    {
                        revocation.SetResult(await store.RevokeAsync(parent.Id, "admin", "race", Ct));
                    }
                    catch (Exception e)
                    {
                        revocation.SetException(e);
                    }
                }

                return true;
            }

            refused.Add(grant.Id);
            return false;
        }

        // Act
        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var store = w % 2 == 0 ? Store : replica;
            for (var i = 0; i < 5000; i++)
            {
                var child = NewGrant(parent: parent.Id, lifetime: TimeSpan.FromMinutes(9));
                if (!await TryRecordAsync(store, child))
                {
                    return;
                }

                await TryRecordAsync(store, NewGrant(parent: child.Id, lifetime: TimeSpan.FromMinutes(8)));
            }
        }, Ct)).ToList();
        await Task.WhenAll(workers);

        // Assert: every grant the store took was recorded before the revocation and revoked by it; every grant it
        // refused is unknown. Both happened.
        var revoked = Assert.IsType<Revoked>(await revocation.Task);
        Assert.NotEmpty(refused);
        Assert.True(recorded.Count >= 20);
        Assert.Equal(recorded.Order(StringComparer.Ordinal), revoked.Descendants.Select(e => e.GrantId).Order(StringComparer.Ordinal));
        foreach (var id in recorded)
        {
            Assert.Equal(GrantState.Revoked, await Store.GetStateAsync(id, Ct));
        }

        foreach (var id in refused)
        {
            Assert.Equal(GrantState.Unknown, await Store.GetStateAsync(id, Ct));
        }

        Assert.Equal(1 + recorded.Count, (await Store.ReadRevocationsAsync(Tenant, null, 1000, Ct)).Entries.Count);
    }

    private async Task<GrantRecord> RecordAsync(GrantRecord grant)
    {
        Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(grant, Issued(grant), Ct));
        return grant;
    }
}
