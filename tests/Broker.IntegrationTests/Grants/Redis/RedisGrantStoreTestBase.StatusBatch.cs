using Broker.Grants;
using Broker.Grants.InMemory;
using Broker.Grants.Redis;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>
/// What the record script keeps per batch rather than per grant (<see cref="RedisGrantScripts.Record"/>): a tenant's
/// status list read and written once per batch, a dictionary's fields counted once. A batch must end exactly as the
/// same grants recorded one by one: the in-memory store (<see cref="InMemoryStatusList"/>) is the reference for the
/// indexes. Batches are made certain with <c>CLIENT PAUSE</c>, as in the group commit tests: a first grant goes alone
/// and is held, the rest queue behind it and go together.
/// </summary>
public abstract partial class RedisGrantStoreTestBase
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task StatusBatch_GrantsReusingFreedAndMarkedIndexesInOneBatch_AllocateAsTheInMemoryStore()
    {
        // Arrange: both stores on one clock; 8 one-minute grants (indexes 0 to 7), 2 and 5 revoked, then past their
        // expiry and margin: all eight are due, the two marked ones must wait out the lists that show them.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = BatchStatusOptions(capacity: 64);
        using var metrics = NewMetrics(out var telemetry);
        var redis = await ConnectStoreAsync(GrantsOptions, options, time, telemetry: telemetry);
        var memory = new InMemoryGrantStore(time, Options.Create(GrantsOptions), Options.Create(options));
        var first = Enumerable.Range(0, 8).Select(_ => GrantAt(time, Minute)).ToList();
        foreach (var grant in first)
        {
            Assert.Equal(await RecordIndexAsync(memory, grant), await RecordIndexAsync(redis, grant));
        }

        foreach (var grant in new[] { first[2], first[5] })
        {
            Assert.IsType<Revoked>(await redis.RevokeAsync(grant.Id, "admin", "batch", Ct));
            Assert.IsType<Revoked>(await memory.RevokeAsync(grant.Id, "admin", "batch", Ct));
        }

        time.Advance(3 * Minute);

        // Act: a batch that takes every due index (clearing and setting aside the marked ones), then raises the
        // high-water mark, each grant freeing its own index for later; then, past the wait of the marked ones and the
        // reuse of the batch's one-minute grants, another.
        var second = Enumerable.Range(0, 12).Select(i => GrantAt(time, i % 2 == 0 ? Minute : 10 * Minute)).ToList();
        var secondIndexes = await RecordBatchAsync(redis, second);
        var secondExpected = await RecordEachAsync(memory, second);
        var clearedAtOnce = await redis.ReadStatusListAsync(Tenant, Ct);
        time.Advance(3 * Minute);
        var third = Enumerable.Range(0, 12).Select(_ => GrantAt(time, 10 * Minute)).ToList();
        var thirdIndexes = await RecordBatchAsync(redis, third);
        var thirdExpected = await RecordEachAsync(memory, third);

        // Assert: the indexes the in-memory store hands out one by one (7, 6, 4, 3, 1, 0, then 8...: 5 and 2 cleared and
        // set aside), then the set-aside and the freed ones; never one index to two unexpired grants.
        Assert.Equal(secondExpected, secondIndexes);
        Assert.Equal([7, 6, 4, 3, 1, 0, 8, 9, 10, 11, 12, 13], secondIndexes);
        Assert.Equal(thirdExpected, thirdIndexes);
        Assert.Contains(2, thirdIndexes);
        Assert.Contains(5, thirdIndexes);
        var live = second.Zip(secondIndexes).Concat(third.Zip(thirdIndexes)).Where(g => g.First.ExpiresAt > time.GetUtcNow()).Select(g => g.Second).ToList();
        Assert.Equal(live.Count, live.Distinct().Count());
        Assert.False(StatusIndexing.Get(clearedAtOnce, 2));
        Assert.False(StatusIndexing.Get(clearedAtOnce, 5));
        Assert.All(await redis.ReadStatusListAsync(Tenant, Ct) ?? [], b => Assert.Equal(0, b));
        foreach (var (grant, index) in third.Zip(thirdIndexes))
        {
            Assert.Equal(index, (await redis.FindAsync(grant.Id, Ct))!.StatusIndex);
        }

        Assert.Equal([1, 11, 1, 11], metrics.Of(BatchSize).Select(m => m.Value).TakeLast(4));
    }

    [Fact]
    public async Task StatusBatch_ListFillsMidBatch_TheRestAreRefusedWithNothingWritten()
    {
        // Arrange: a list of 8, 4 held.
        var options = BatchStatusOptions(capacity: 8);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var redis = await ConnectStoreAsync(GrantsOptions, options, time);
        var memory = new InMemoryGrantStore(time, Options.Create(GrantsOptions), Options.Create(options));
        foreach (var grant in Enumerable.Range(0, 4).Select(_ => GrantAt(time, 10 * Minute)))
        {
            Assert.Equal(await RecordIndexAsync(memory, grant), await RecordIndexAsync(redis, grant));
        }

        // Act: the first alone (4), then a batch of six of which three fit.
        var grants = Enumerable.Range(0, 7).Select(_ => GrantAt(time, 10 * Minute)).ToList();
        var indexes = await RecordBatchAsync(redis, grants);

        // Assert: 4 to 7, then refused: no record, no audit event, not listed, and the list's high-water mark at 8.
        Assert.Equal(await RecordEachAsync(memory, grants), indexes);
        Assert.Equal([4, 5, 6, 7, null, null, null], indexes);
        var audited = (await redis.ReadAuditAsync(Tenant, 100, Ct)).Select(e => e.GrantId).ToList();
        var listed = (await redis.ListAsync(GrantQuery.ForTenant(Tenant), null, 100, Ct)).Grants.Select(g => g.Id).ToList();
        foreach (var refused in grants[4..])
        {
            Assert.Null(await redis.FindAsync(refused.Id, Ct));
            Assert.DoesNotContain(refused.Id, audited);
            Assert.DoesNotContain(refused.Id, listed);
        }

        Assert.Equal(8, listed.Count);
        var keys = new RedisGrantKeys(KeyPrefix);
        Assert.Equal("8", (string?)await Database.HashGetAsync(keys.StatusQueue(GrantId.RoutingTag(Tenant), Tenant), "n"));
    }

    [Fact]
    public async Task StatusBatch_FieldCrosses768BytesMidBatch_MovesAside_AndEveryIndexComesBackInTheInMemoryOrder()
    {
        // Arrange: 250 grants expiring together: their indexes free in one field of 750 bytes (3 per index).
        var options = BatchStatusOptions(capacity: 1024);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var redis = await ConnectStoreAsync(GrantsOptions, options, time, maxRecordBatch: 64);
        var memory = new InMemoryGrantStore(time, Options.Create(GrantsOptions), Options.Create(options));
        var expiry = time.GetUtcNow() + Minute;
        var filling = Enumerable.Range(0, 250).Select(_ => GrantAt(time, Minute) with { ExpiresAt = expiry }).ToList();
        foreach (var chunk in filling.Chunk(50))
        {
            await Task.WhenAll(chunk.Select(g => redis.RecordWithStatusAsync(g, Issued(g), Ct).AsTask()));
        }

        await RecordEachAsync(memory, filling);

        // Act: the first alone (index 250), then ten together: the sixth of them (256) finds the field at 768 bytes.
        var crossing = Enumerable.Range(0, 11).Select(_ => GrantAt(time, Minute) with { ExpiresAt = expiry }).ToList();
        var crossingIndexes = await RecordBatchAsync(redis, crossing);

        // Assert: the full field moved aside whole to 'field.1' (indexes 0 to 255), the field itself holding 256 to 260,
        // both due at the same time.
        Assert.Equal(await RecordEachAsync(memory, crossing), crossingIndexes);
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(Tenant);
        var step = (long)options.ReuseGranularity.TotalMilliseconds;
        var field = StatusIndexing.Plan(options, expiry.ToUnixTimeMilliseconds(), 0).ReusableAt / step;
        var queue = keys.StatusQueue(tag, Tenant);
        var order = keys.StatusOrder(tag, Tenant);
        Assert.Equal(15, ((byte[])(await Database.HashGetAsync(queue, $"{field}"))!).Length);
        Assert.Equal(768, ((byte[])(await Database.HashGetAsync(queue, $"{field}.1"))!).Length);
        Assert.Equal("1", (string?)await Database.HashGetAsync(queue, "#"));
        Assert.Equal(await Database.SortedSetScoreAsync(order, $"{field}"), await Database.SortedSetScoreAsync(order, $"{field}.1"));

        // Act: past their reuse, 300 more, in batches.
        time.Advance(3 * Minute);
        var reusing = Enumerable.Range(0, 300).Select(_ => GrantAt(time, 10 * Minute)).ToList();
        List<int?> reusedIndexes = [];
        foreach (var chunk in reusing.Chunk(60))
        {
            reusedIndexes.AddRange(await RecordBatchAsync(redis, chunk));
        }

        // Assert: the 261 freed indexes come back last freed first, as from the in-memory store, then fresh ones.
        Assert.Equal(await RecordEachAsync(memory, reusing), reusedIndexes);
        Assert.Equal(Enumerable.Range(0, 261).Reverse().Select(i => (int?)i), reusedIndexes.Take(261));
        Assert.Equal(300, reusedIndexes.Distinct().Count());
    }

    [Fact]
    public async Task StatusBatch_TwoTenantsOfOneTagInOneBatch_KeepListsOfTheirOwn()
    {
        // Arrange: two tenants whose IDs share a routing tag (so their grants go in one batch), lists of 4; A holds 2
        // indexes, B 1.
        var (a, b) = TenantsSharingATag();
        var options = BatchStatusOptions(capacity: 4);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var metrics = NewMetrics(out var telemetry);
        var redis = await ConnectStoreAsync(GrantsOptions, options, time, telemetry: telemetry);
        var memory = new InMemoryGrantStore(time, Options.Create(GrantsOptions), Options.Create(options));
        foreach (var grant in new[] { a, a, b }.Select(t => GrantAt(time, 10 * Minute, t)))
        {
            Assert.Equal(await RecordIndexAsync(memory, grant), await RecordIndexAsync(redis, grant));
        }

        // Act: B alone, then A and B in turn, together.
        var grants = new[] { b, a, b, a, b, a, b }.Select(t => GrantAt(time, 10 * Minute, t)).ToList();
        var indexes = await RecordBatchAsync(redis, grants, a);

        // Assert: each tenant's own sequence, each list full at 4 for its own grants only.
        Assert.Equal(await RecordEachAsync(memory, grants), indexes);
        Assert.Equal([1, 2, 2, 3, 3, null, null], indexes);
        Assert.Equal([1, 6], metrics.Of(BatchSize).Select(m => m.Value).TakeLast(2));
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(a);
        foreach (var tenant in new[] { a, b })
        {
            Assert.Equal("4", (string?)await Database.HashGetAsync(keys.StatusQueue(tag, tenant), "n"));
            var own = grants.Zip(indexes).Where(g => g.First.Tenant == tenant && g.Second is not null).ToList();
            foreach (var (grant, index) in own)
            {
                Assert.Equal(index, (await redis.FindAsync(grant.Id, Ct))!.StatusIndex);
            }
        }
    }

    [Fact]
    public async Task StatusBatch_DictionaryFillsMidBatch_TheRestStoreTheirStringsInTheRecord()
    {
        // Arrange: one expiry for all (one dictionary); a first grant interns the shared strings, then the dictionary
        // is filled to 5 fields below its capacity.
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(Tenant);
        var expiry = Now() + 10 * Minute;
        var dictionary = keys.Dictionary(tag, RedisGrantRecordCodec.DictionaryNumber(expiry.ToUnixTimeMilliseconds()));
        var shared = NewGrant() with { ExpiresAt = expiry };
        Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(shared, Issued(shared), Ct));
        var filler = RedisGrantRecords.DictionaryCapacity - 5 - await Database.HashLengthAsync(dictionary);
        await Database.HashSetAsync(dictionary, [.. Enumerable.Range(0, (int)filler).Select(i => new HashEntry($"filler-{i}", "x"))]);

        // Act: a first grant of known strings alone, then five with a purpose each of their own, together.
        var grants = Enumerable.Range(0, 6).Select(i => NewGrant() with { ExpiresAt = expiry, Purpose = i == 0 ? shared.Purpose : $"purpose {i} {Guid.NewGuid()}" }).ToList();
        var outcomes = await RecordBatchOutcomesAsync(Store, grants);

        // Assert: the first three new purposes fill the dictionary (each adds two fields while it holds fewer than its
        // capacity), the last two are stored in their records; each grant reads back whole.
        Assert.All(outcomes, o => Assert.Equal(RecordGrantResult.Recorded, o.Result));
        Assert.Equal(RedisGrantRecords.DictionaryCapacity + 1, await Database.HashLengthAsync(dictionary));
        var interned = await Task.WhenAll(grants[1..].Select(g => Database.HashExistsAsync(dictionary, "=" + g.Purpose)));
        Assert.Equal(new[] { true, true, true, false, false }, interned);
        foreach (var grant in grants)
        {
            AssertSameGrant(grant, await Store.FindAsync(grant.Id, Ct));
        }
    }

    [Fact]
    public async Task StatusBatch_BatchFailsAtALaterGrant_TheIndexesOfGrantsWrittenBeforeItStayTaken()
    {
        // Arrange: the last grant's subject index is not a sorted set: the call fails there, after writing the records
        // of the grants before it (fail-closed: none of their tokens is returned).
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(Tenant);
        var grants = Enumerable.Range(0, 5).Select(i => NewGrant(subject: $"spiffe://acme.example/ns/agents/sa/failing-{i}")).ToList();
        await Database.StringSetAsync(keys.SubjectIndex(tag, Tenant, grants[^1].Subject), "not a sorted set");

        // Act
        Task<RecordGrantOutcome>[] calls;
        await using (await PauseWritesAsync())
        {
            calls = [.. grants.Select(g => Store.RecordWithStatusAsync(g, Issued(g), Ct).AsTask())];
        }

        await Assert.ThrowsAnyAsync<Exception>(() => Task.WhenAll(calls));
        var next = Enumerable.Range(0, 4).Select(_ => NewGrant()).ToList();
        List<int?> nextIndexes = [];
        foreach (var grant in next)
        {
            nextIndexes.Add(await RecordIndexAsync(Store, grant));
        }

        // Assert: the first alone got 0; the batch failed; the records it wrote keep indexes of their own that the list
        // does not hand out again.
        Assert.Equal(0, (await calls[0]).StatusIndex);
        foreach (var call in calls[1..])
        {
            await Assert.ThrowsAsync<GrantStoreUnavailableException>(() => call);
        }

        var written = await Task.WhenAll(grants[1..^1].Select(g => Store.FindAsync(g.Id, Ct).AsTask()));
        Assert.All(written, g => Assert.NotNull(g));
        var taken = written.Select(g => g!.StatusIndex).Prepend(0).ToList();
        Assert.Equal([0, 1, 2, 3], taken);
        Assert.Empty(nextIndexes.Intersect(taken));
    }

    /// <summary>Lists of <paramref name="capacity"/> whose indexes come free a minute after expiry, in steps of 10 s.</summary>
    private static StatusListOptions BatchStatusOptions(int capacity) => new()
    {
        Capacity = capacity,
        ReuseMargin = Minute,
        Lifetime = Minute,
        Ttl = TimeSpan.FromSeconds(30),
        ReuseGranularity = TimeSpan.FromSeconds(10),
    };

    /// <summary>A grant of <paramref name="tenant"/> issued at <paramref name="time"/>'s now, for <paramref name="lifetime"/>.</summary>
    private GrantRecord GrantAt(FakeTimeProvider time, TimeSpan lifetime, string? tenant = null)
    {
        var now = time.GetUtcNow();
        return NewGrant(tenant: tenant) with { IssuedAt = now, ExpiresAt = now + lifetime };
    }

    private static async Task<int?> RecordIndexAsync(IGrantStore store, GrantRecord grant)
        => (await store.RecordWithStatusAsync(grant, Issued(grant), Ct)).StatusIndex;

    /// <summary>The indexes <paramref name="store"/> gives <paramref name="grants"/> recorded one after the other.</summary>
    private static async Task<List<int?>> RecordEachAsync(IGrantStore store, IEnumerable<GrantRecord> grants)
    {
        List<int?> indexes = [];
        foreach (var grant in grants)
        {
            indexes.Add(await RecordIndexAsync(store, grant));
        }

        return indexes;
    }

    /// <summary>
    /// Records the first grant alone and held in flight, the others queued behind it and then sent together, and returns
    /// each one's index (null when it was refused).
    /// </summary>
    private async Task<List<int?>> RecordBatchAsync(IGrantStore store, IReadOnlyList<GrantRecord> grants, string? tenant = null)
        => [.. (await RecordBatchOutcomesAsync(store, grants, tenant)).Select(o => o.StatusIndex)];

    private async Task<RecordGrantOutcome[]> RecordBatchOutcomesAsync(IGrantStore store, IReadOnlyList<GrantRecord> grants, string? tenant = null)
    {
        Task<RecordGrantOutcome>[] calls;
        await using (await PauseWritesAsync(tenant))
        {
            calls = [.. grants.Select(g => store.RecordWithStatusAsync(g, Issued(g), Ct).AsTask())];
        }

        return await Task.WhenAll(calls);
    }

    /// <summary>Two tenant names whose grant IDs carry the same routing tag (24 bits of SHA-256: a few thousand names).</summary>
    private static (string A, string B) TenantsSharingATag()
    {
        Dictionary<string, string> seen = new(StringComparer.Ordinal);
        for (var i = 0; ; i++)
        {
            var tenant = $"tenant-{i}";
            if (seen.TryGetValue(GrantId.RoutingTag(tenant), out var other))
            {
                return (other, tenant);
            }

            seen.Add(GrantId.RoutingTag(tenant), tenant);
        }
    }
}
