using Broker.Grants;
using Broker.Grants.Redis;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>
/// The tenant's index as buckets per expiry (<see cref="RedisGrantKeys.IndexBucket"/>): its shape, lifetimes and
/// trimming, listing across buckets from any cursor, revocation through them, and the legacy chunked tenant index that
/// older replicas write, still listed and revoked. (A subject's index is chunked: RedisGrantStoreTestBase.SubjectChunks.)
/// </summary>
public abstract partial class RedisGrantStoreTestBase
{
    private const int MemberLength = 22;

    [Fact]
    public async Task RecordAsync_TenantIndex_OneBucketPerExpirySecond_OneAppendPerGrant_SubjectIndexChunked()
    {
        // Arrange: 90 grants of two subjects expiring in three whole seconds (as exchanged tokens do), recorded 15 at a
        // time so that batches share buckets.
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(Tenant);
        var tagBase = keys.TagBase(tag);
        var second = WholeSecond(Now().AddMinutes(10));
        var grants = Enumerable.Range(0, 90)
            .Select(i => NewGrant(subject: "spiffe://acme.example/" + (i % 2 == 0 ? "even" : "odd")) with { ExpiresAt = second.AddSeconds(i % 3) })
            .ToList();

        // Act
        await RecordAllAsync(grants, batch: 15);

        // Assert: the directory names the three seconds (member and score, Unix ms); each bucket holds exactly its
        // second's members, one APPEND of 22 bytes per grant, and lives until its second.
        foreach (var (directory, selected) in new[]
        {
            (keys.TenantIndex(tag, Tenant), grants),
        })
        {
            var entries = await Database.SortedSetRangeByRankWithScoresAsync(directory);
            var expiries = selected.Select(g => g.ExpiresAt.ToUnixTimeMilliseconds()).Distinct().Order().ToList();
            Assert.Equal(expiries, entries.Select(e => (long)e.Score));
            Assert.Equal(expiries.Select(e => e.ToString(System.Globalization.CultureInfo.InvariantCulture)), entries.Select(e => e.Element.ToString()));
            foreach (var expiry in expiries)
            {
                var bucket = RedisGrantKeys.IndexBucket(tagBase, directory, expiry);
                var members = (string?)await Database.StringGetAsync(bucket);
                var expected = selected.Where(g => g.ExpiresAt.ToUnixTimeMilliseconds() == expiry).Select(g => RedisGrantKeys.IndexMember(g.Id)).ToList();
                Assert.Equal(expected.Count * MemberLength, members!.Length);
                Assert.Equal(expected.Order(StringComparer.Ordinal), Split(members).Order(StringComparer.Ordinal));
                var ttl = (await Database.KeyTimeToLiveAsync(bucket))!.Value;
                var untilExpiry = DateTimeOffset.FromUnixTimeMilliseconds(expiry) - Now();
                Assert.InRange(ttl, untilExpiry - TimeSpan.FromSeconds(30), untilExpiry + TimeSpan.FromSeconds(1));
            }

            Assert.InRange((await Database.KeyTimeToLiveAsync(directory))!.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(3));
        }

        // Assert: the legacy tenant index is unwritten; a subject's index is a chunked one (a directory of chunk names
        // and the counter '#', chunks of member -> expiry) holding the subject's 45 grants.
        Assert.False(await Database.KeyExistsAsync(keys.LegacyTenantIndex(tag, Tenant)));
        var subjectIndex = keys.SubjectIndex(tag, Tenant, "spiffe://acme.example/even");
        Assert.NotNull(await Database.SortedSetScoreAsync(subjectIndex, "#"));
        Assert.Equal(new long[] { 45 }, await ChunkSizesAsync(subjectIndex));
    }

    [Fact]
    public async Task RecordAsync_ExpiredSeconds_LeaveTheDirectory_AndTheirBucketsExpireWithThem()
    {
        // Arrange: a ten-minute grant of the tenant, then 40 that expire within two seconds.
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(Tenant);
        var directory = keys.TenantIndex(tag, Tenant);
        var lasting = NewGrant(subject: "spiffe://acme.example/short");
        await Store.RecordAsync(lasting, Issued(lasting), Ct);
        var soon = WholeSecond(Now()).AddSeconds(2);
        var grants = Enumerable.Range(0, 40).Select(i => NewGrant(subject: "spiffe://acme.example/short") with { ExpiresAt = soon.AddSeconds(i % 2) }).ToList();
        await RecordAllAsync(grants, batch: 20);
        var shortBuckets = grants.Select(g => g.ExpiresAt.ToUnixTimeMilliseconds()).Distinct()
            .Select(e => RedisGrantKeys.IndexBucket(keys.TagBase(tag), directory, e)).ToList();
        Assert.Equal(3, await Database.SortedSetLengthAsync(directory));

        // Act: past their expiry, the next grant of the tenant trims the directory.
        await Task.Delay(grants.Max(g => g.ExpiresAt) - Now() + TimeSpan.FromMilliseconds(300), Ct);
        var next = NewGrant(subject: "spiffe://acme.example/short");
        await Store.RecordAsync(next, Issued(next), Ct);

        // Assert: two seconds left (the two unexpired grants'), the expired buckets gone by their TTL.
        var left = await Database.SortedSetRangeByRankAsync(directory);
        Assert.Equal(new[] { lasting, next }.Select(g => g.ExpiresAt.ToUnixTimeMilliseconds()).Distinct().Order(), left.Select(e => (long)e));
        foreach (var bucket in shortBuckets)
        {
            Assert.False(await Database.KeyExistsAsync(bucket));
        }

        Assert.Equal([next.Id, lasting.Id], (await Store.ListAsync(GrantQuery.ForTenant(Tenant), null, 10, Ct)).Grants.Select(g => g.Id));
    }

    [Fact]
    public async Task ListAsync_HundredsOfGrantsInBucketsWithBursts_PageEachOnceInOrder_FromAnyCursor()
    {
        // Arrange: 400 grants of one subject over six seconds, most in bursts of one second, recorded 40 at a time.
        const string subject = "spiffe://acme.example/ns/agents/sa/bursty";
        var random = new Random(1203);
        var second = WholeSecond(Now().AddMinutes(10));
        var grants = Enumerable.Range(0, 400)
            .Select(_ => NewGrant(subject: subject) with { ExpiresAt = second.AddSeconds(random.Next(0, 10) < 7 ? 2 : random.Next(0, 6)) })
            .ToList();
        await RecordAllAsync(grants, batch: 40);

        // The documented order, read from the buckets themselves: latest second first, latest appended first.
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(Tenant);
        var directory = keys.TenantIndex(tag, Tenant);
        List<string> expected = [];
        foreach (var expiry in grants.Select(g => g.ExpiresAt.ToUnixTimeMilliseconds()).Distinct().OrderDescending())
        {
            var members = (string?)await Database.StringGetAsync(RedisGrantKeys.IndexBucket(keys.TagBase(tag), directory, expiry));
            expected.AddRange(Split(members!).Reverse().Select(m => tag + "." + m));
        }

        // Act + Assert: every page size lists each grant once, in that order, by tenant; by subject (chunks) in expiry
        // order, ties by ID descending.
        Assert.Equal(grants.Select(g => g.Id).Order(StringComparer.Ordinal), expected.Order(StringComparer.Ordinal));
        foreach (var pageSize in new[] { 1, 7, 37, 200, 1000 })
        {
            Assert.Equal(expected, await ListAllAsync(GrantQuery.ForTenant(Tenant), pageSize));
        }

        var bySubject = grants.OrderByDescending(g => g.ExpiresAt).ThenByDescending(g => g.Id, StringComparer.Ordinal).Select(g => g.Id).ToList();
        Assert.Equal(bySubject, await ListAllAsync(GrantQuery.ForSubject(Tenant, subject), 64));

        // Act + Assert: from a cursor in the middle of the burst's bucket, and from its last and first members.
        foreach (var at in new[] { expected.Count / 2, 0, expected.Count - 1 })
        {
            var page = await Store.ListAsync(GrantQuery.ForTenant(Tenant), expected[at], 25, Ct);
            Assert.Equal(expected.Skip(at + 1).Take(25), page.Grants.Select(g => g.Id));
        }
    }

    [Fact]
    public async Task ListAsync_CursorAlsoFoundAcrossTwoMembers_ContinuesFromItsAlignedPlace()
    {
        // Arrange: three grants of one second whose IDs make the third appear also across the first two
        // ("AAA…xxx" + "yyy…BBB" contains "xxx…yyy" 11 bytes in), recorded in that order.
        var tag = GrantId.RoutingTag(Tenant);
        var expiry = WholeSecond(Now().AddMinutes(10));
        var ids = new[] { new string('A', 11) + new string('x', 11), new string('y', 11) + new string('B', 11), new string('x', 11) + new string('y', 11) };
        var grants = ids.Select(id => NewGrant() with { Id = tag + "." + id, ExpiresAt = expiry }).ToList();
        foreach (var grant in grants)
        {
            Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(grant, Issued(grant), Ct));
        }

        // Act
        var afterThird = await Store.ListAsync(GrantQuery.ForTenant(Tenant), grants[2].Id, 10, Ct);
        var afterSecond = await Store.ListAsync(GrantQuery.ForTenant(Tenant), grants[1].Id, 10, Ct);

        // Assert: the members recorded before each cursor, latest first.
        Assert.Equal([grants[1].Id, grants[0].Id], afterThird.Grants.Select(g => g.Id));
        Assert.Equal([grants[0].Id], afterSecond.Grants.Select(g => g.Id));
    }

    [Fact]
    public async Task ListAsync_CursorWhoseBucketExpired_EndsTheListing_AndRevocationStillReachesTheRest()
    {
        // Arrange: a grant that expires within two seconds, and a ten-minute one recorded before it (listed after it).
        var lasting = NewGrant(lifetime: TimeSpan.FromMinutes(10));
        await Store.RecordAsync(lasting, Issued(lasting), Ct);
        var brief = NewGrant() with { ExpiresAt = WholeSecond(Now()).AddSeconds(2) };
        await Store.RecordAsync(brief, Issued(brief), Ct);
        var first = await Store.ListAsync(GrantQuery.ForTenant(Tenant), null, 1, Ct);
        Assert.Equal(lasting.Id, Assert.Single(first.Grants).Id);
        Assert.Equal(lasting.Id, first.NextCursor);

        // Act: past the brief grant's expiry its bucket is gone, its record still kept (retention).
        await Task.Delay(brief.ExpiresAt - Now() + TimeSpan.FromMilliseconds(300), Ct);
        var afterExpired = await Store.ListAsync(GrantQuery.ForTenant(Tenant), brief.Id, 10, Ct);
        var afterLasting = await Store.ListAsync(GrantQuery.ForTenant(Tenant), lasting.Id, 10, Ct);

        // Assert
        Assert.Empty(afterExpired.Grants);
        Assert.Null(afterExpired.NextCursor);
        Assert.Empty(afterLasting.Grants);
        Assert.Equal(1, await Store.RevokeAllAsync(GrantQuery.ForTenant(Tenant), "admin", "after expiry", Ct));
    }

    [Fact]
    public async Task RevokeAllAsync_BySubjectThenTenant_GrantsSpreadOverBuckets_EachRevokedExactlyOnce()
    {
        // Arrange: 450 grants of three subjects over eight seconds, with bursts, and each subject's in several buckets.
        var random = new Random(1204);
        var second = WholeSecond(Now().AddMinutes(10));
        var grants = Enumerable.Range(0, 450)
            .Select(i => NewGrant(subject: "spiffe://acme.example/agent-" + (i % 3)) with { ExpiresAt = second.AddSeconds(i % 4 == 0 ? 3 : random.Next(0, 8)) })
            .ToList();
        await RecordAllAsync(grants, batch: 50);

        // Act
        var bySubject = await Store.RevokeAllAsync(GrantQuery.ForSubject(Tenant, "spiffe://acme.example/agent-1"), "admin", "subject", Ct);
        var byTenant = await Store.RevokeAllAsync(GrantQuery.ForTenant(Tenant), "admin", "tenant", Ct);

        // Assert: the subject's 150, then the other 300, each once in the revocation stream; every grant revoked.
        Assert.Equal(150, bySubject);
        Assert.Equal(300, byTenant);
        var entries = (await Store.ReadRevocationsAsync(Tenant, null, 1000, Ct)).Entries.Select(e => e.GrantId).ToList();
        Assert.Equal(grants.Select(g => g.Id).Order(StringComparer.Ordinal), entries.Order(StringComparer.Ordinal));
        var listed = await ListAllAsync(GrantQuery.ForTenant(Tenant), 200);
        Assert.Equal(450, listed.Count);
        foreach (var grant in grants.Take(20))
        {
            Assert.Equal(GrantState.Revoked, await Store.GetStateAsync(grant.Id, Ct));
        }
    }

    [Fact]
    public async Task LegacyChunkedIndex_OfAnOlderReplica_IsListedAfterTheBuckets_AndRevokedBySubjectAndTenant()
    {
        // Arrange: 12 grants recorded in buckets, and 15 that an older replica recorded: their records and subject
        // index entries as any (the subject index is chunked in both versions), their tenant index entries in the
        // legacy chunked tenant index (written here by hand, as that replica's script did: a directory of chunk names
        // scored by the lowest expiry each holds, '#' the counter below zero, chunks of member -> expiry), none in buckets.
        const string subject = "spiffe://acme.example/ns/agents/sa/mixed";
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(Tenant);
        var tagBase = keys.TagBase(tag);
        var second = WholeSecond(Now().AddMinutes(10));
        var current = Enumerable.Range(0, 12).Select(i => NewGrant(subject: subject) with { ExpiresAt = second.AddSeconds(i % 3) }).ToList();
        var legacy = Enumerable.Range(0, 15).Select(i => NewGrant(subject: subject) with { ExpiresAt = second.AddSeconds(10 + (i % 5)).AddMilliseconds(i) }).ToList();
        foreach (var grant in current.Concat(legacy))
        {
            Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(grant, Issued(grant), Ct));
        }

        var directory = keys.TenantIndex(tag, Tenant);
        foreach (var expiry in legacy.Select(g => g.ExpiresAt.ToUnixTimeMilliseconds()).Distinct())
        {
            await Database.KeyDeleteAsync(RedisGrantKeys.IndexBucket(tagBase, directory, expiry));
            await Database.SortedSetRemoveAsync(directory, expiry);
        }

        await WriteLegacyChunksAsync(keys.LegacyTenantIndex(tag, Tenant), tagBase, legacy);

        // Expected: by tenant the buckets (latest second first, latest recorded first), then the legacy chunks (latest
        // expiry first); by subject, all in the subject's chunks (latest expiry first, ties by ID descending).
        var expected = current.OrderByDescending(g => g.ExpiresAt).ThenByDescending(current.IndexOf)
            .Concat(legacy.OrderByDescending(g => g.ExpiresAt).ThenByDescending(g => g.Id, StringComparer.Ordinal))
            .Select(g => g.Id).ToList();
        var bySubject = current.Concat(legacy).OrderByDescending(g => g.ExpiresAt).ThenByDescending(g => g.Id, StringComparer.Ordinal)
            .Select(g => g.Id).ToList();

        // Act + Assert: listed once each, whatever the page size (cursors in buckets and in chunks).
        foreach (var pageSize in new[] { 1, 4, 12, 13, 100 })
        {
            Assert.Equal(bySubject, await ListAllAsync(GrantQuery.ForSubject(Tenant, subject), pageSize));
            Assert.Equal(expected, await ListAllAsync(GrantQuery.ForTenant(Tenant), pageSize));
        }

        // Act + Assert: revoked by subject (every one of the 27 once), and then by tenant nothing is left to revoke.
        Assert.Equal(27, await Store.RevokeAllAsync(GrantQuery.ForSubject(Tenant, subject), "admin", "mixed", Ct));
        Assert.Equal(0, await Store.RevokeAllAsync(GrantQuery.ForTenant(Tenant), "admin", "mixed", Ct));
        var entries = (await Store.ReadRevocationsAsync(Tenant, null, 100, Ct)).Entries.Select(e => e.GrantId);
        Assert.Equal(expected.Order(StringComparer.Ordinal), entries.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task LegacyChunkedIndex_RevokedByTenant_AlongWithTheBuckets()
    {
        // Arrange: as above, a tenant index half in buckets and half in the legacy chunks.
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(Tenant);
        var second = WholeSecond(Now().AddMinutes(10));
        var current = Enumerable.Range(0, 30).Select(i => NewGrant() with { ExpiresAt = second.AddSeconds(i % 2) }).ToList();
        var legacy = Enumerable.Range(0, 30).Select(i => NewGrant() with { ExpiresAt = second.AddSeconds(5).AddMilliseconds(i) }).ToList();
        await RecordAllAsync(current.Concat(legacy).ToList(), batch: 10);
        var directory = keys.TenantIndex(tag, Tenant);
        foreach (var expiry in legacy.Select(g => g.ExpiresAt.ToUnixTimeMilliseconds()))
        {
            await Database.KeyDeleteAsync(RedisGrantKeys.IndexBucket(keys.TagBase(tag), directory, expiry));
            await Database.SortedSetRemoveAsync(directory, expiry);
        }

        await WriteLegacyChunksAsync(keys.LegacyTenantIndex(tag, Tenant), keys.TagBase(tag), legacy);

        // Act
        var revoked = await Store.RevokeAllAsync(GrantQuery.ForTenant(Tenant), "admin", "legacy", Ct);

        // Assert
        Assert.Equal(60, revoked);
        var entries = (await Store.ReadRevocationsAsync(Tenant, null, 100, Ct)).Entries.Select(e => e.GrantId);
        Assert.Equal(current.Concat(legacy).Select(g => g.Id).Order(StringComparer.Ordinal), entries.Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// The chunked tenant index of a replica before the tenant's buckets, written by hand: the grants split in two chunks by expiry
    /// (the lower half in chunk 1), the directory scoring each by its lowest expiry, and the counter '#'.
    /// </summary>
    private async Task WriteLegacyChunksAsync(RedisKey directory, string tagBase, IReadOnlyList<GrantRecord> grants)
    {
        var ordered = grants.OrderBy(g => g.ExpiresAt).ToArray();
        var halves = new[] { ordered[..(ordered.Length / 2)], ordered[(ordered.Length / 2)..] };
        for (var i = 0; i < halves.Length; i++)
        {
            var name = (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var chunk = RedisGrantKeys.IndexChunk(tagBase, directory, name);
            await Database.SortedSetAddAsync(chunk, [.. halves[i].Select(g => new SortedSetEntry(RedisGrantKeys.IndexMember(g.Id), g.ExpiresAt.ToUnixTimeMilliseconds()))]);
            await Database.KeyExpireAsync(chunk, TimeSpan.FromMinutes(15));
            await Database.SortedSetAddAsync(directory, name, halves[i][0].ExpiresAt.ToUnixTimeMilliseconds());
        }

        await Database.SortedSetAddAsync(directory, "#", -2);
        await Database.KeyExpireAsync(directory, TimeSpan.FromMinutes(15));
    }

    private async Task RecordAllAsync(IReadOnlyList<GrantRecord> grants, int batch)
    {
        foreach (var chunk in grants.Chunk(batch))
        {
            var results = await Task.WhenAll(chunk.Select(g => Store.RecordAsync(g, Issued(g), Ct).AsTask()));
            Assert.All(results, r => Assert.Equal(RecordGrantResult.Recorded, r));
        }
    }

    private static IEnumerable<string> Split(string members)
        => Enumerable.Range(0, members.Length / MemberLength).Select(i => members.Substring(i * MemberLength, MemberLength));

    /// <summary>A whole second, as the exchange's expiries are (<c>exp</c> is a NumericDate).</summary>
    private static DateTimeOffset WholeSecond(DateTimeOffset time) => DateTimeOffset.FromUnixTimeSeconds(time.ToUnixTimeSeconds());
}
