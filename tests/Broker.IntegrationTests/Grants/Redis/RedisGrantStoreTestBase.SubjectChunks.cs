using Broker.Grants;
using Broker.Grants.Redis;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>
/// A subject's index as a chunked index (<see cref="RedisGrantKeys.IndexChunk"/>): chunks that stay listpacks, their
/// split, lifetimes and trimming. A subject gets a grant now and then, so a chunk holds many seconds' grants where a
/// bucket per expiry would hold one.
/// </summary>
public abstract partial class RedisGrantStoreTestBase
{
    [Fact]
    public async Task RecordAsync_SubjectIndexes_StayListpackChunksOfAtMost120()
    {
        // Arrange: 300 grants of one subject, each expiring after the one before (as grants of one lifetime do), then
        // 130 of another subject all expiring in the same millisecond (a chunk cannot split between equal expiries), then
        // one of those expiring before them.
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(Tenant);
        var start = Now().AddMinutes(10);
        var sequential = Enumerable.Range(0, 300).Select(i => NewGrant(subject: "spiffe://acme.example/seq") with { ExpiresAt = start.AddMilliseconds(i) }).ToList();
        var burst = Enumerable.Range(0, 130).Select(_ => NewGrant(subject: "spiffe://acme.example/burst") with { ExpiresAt = start.AddSeconds(1) }).ToList();
        var earlier = NewGrant(subject: "spiffe://acme.example/burst") with { ExpiresAt = start.AddSeconds(0.5) };

        // Act
        foreach (var batch in sequential.Concat(burst).Chunk(25))
        {
            await Task.WhenAll(batch.Select(g => Store.RecordAsync(g, Issued(g), Ct).AsTask()));
        }

        await Store.RecordAsync(earlier, Issued(earlier), Ct);

        // Assert: appending in expiry order fills chunks to 120 and starts the next.
        Assert.Equal(new long[] { 120, 120, 60 }, await ChunkSizesAsync(keys.SubjectIndex(tag, Tenant, "spiffe://acme.example/seq")));
        Assert.Equal(new long[] { 1, 130 }, await ChunkSizesAsync(keys.SubjectIndex(tag, Tenant, "spiffe://acme.example/burst")));
        var burstListed = (await Store.ListAsync(GrantQuery.ForSubject(Tenant, "spiffe://acme.example/burst"), null, 200, Ct)).Grants.Select(g => g.Id);
        Assert.Equal(burst.Select(g => g.Id).OrderDescending(StringComparer.Ordinal).Append(earlier.Id), burstListed);
        foreach (var directory in new[] { keys.SubjectIndex(tag, Tenant, "spiffe://acme.example/seq"), keys.SubjectIndex(tag, Tenant, "spiffe://acme.example/burst") })
        {
            foreach (var chunk in await Database.SortedSetRangeByScoreAsync(directory, 0, double.PositiveInfinity))
            {
                var name = RedisGrantKeys.IndexChunk(keys.TagBase(tag), directory, chunk!);
                var encoding = await Database.SortedSetLengthAsync(name) <= RedisGrantKeys.IndexChunkCapacity ? "listpack" : "skiplist";
                Assert.Equal(encoding, (string?)await Database.ExecuteAsync("OBJECT", "ENCODING", name.ToString()));
                Assert.InRange((await Database.KeyTimeToLiveAsync(name))!.Value, TimeSpan.FromMinutes(9.5), TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
            }
        }
    }

    [Fact]
    public async Task RecordAsync_ChunksWhoseGrantsExpired_AreRemovedWithTheirDirectoryEntries()
    {
        // Arrange: a ten-minute grant of one subject (which keeps its index), then 250 short-lived ones (the index splits
        // below it: three chunks), then their expiry.
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(Tenant);
        var directory = keys.SubjectIndex(tag, Tenant, "spiffe://acme.example/short");
        var lasting = NewGrant(subject: "spiffe://acme.example/short");
        await Store.RecordAsync(lasting, Issued(lasting), Ct);
        var start = Now().AddSeconds(1);
        var grants = Enumerable.Range(0, 250).Select(i => NewGrant(subject: "spiffe://acme.example/short") with { ExpiresAt = start.AddMilliseconds(i) }).ToList();
        foreach (var batch in grants.Chunk(50))
        {
            await Task.WhenAll(batch.Select(g => Store.RecordAsync(g, Issued(g), Ct).AsTask()));
        }

        var before = await Database.SortedSetRangeByScoreAsync(directory, 0, double.PositiveInfinity);
        await Task.Delay(grants[^1].ExpiresAt - Now() + TimeSpan.FromMilliseconds(200), Ct);

        // Act: the next grant of the subject trims its index.
        var next = NewGrant(subject: "spiffe://acme.example/short");
        await Store.RecordAsync(next, Issued(next), Ct);

        // Assert: one chunk left, the highest, holding the two unexpired grants; the other chunks' keys are gone.
        Assert.Equal(3, before.Length);
        var after = await Database.SortedSetRangeByScoreAsync(directory, 0, double.PositiveInfinity);
        Assert.Equal(before[^1], Assert.Single(after));
        Assert.Equal(new long[] { 2 }, await ChunkSizesAsync(directory));
        foreach (var chunk in before[..^1])
        {
            Assert.False(await Database.KeyExistsAsync(RedisGrantKeys.IndexChunk(keys.TagBase(tag), directory, chunk!)));
        }

        Assert.Equal([next.Id, lasting.Id], (await Store.ListAsync(GrantQuery.ForSubject(Tenant, next.Subject), null, 10, Ct)).Grants.Select(g => g.Id));
    }

    /// <summary>The sizes of a chunked index's chunks, lowest expiries first.</summary>
    private async Task<long[]> ChunkSizesAsync(RedisKey directory)
    {
        var tagBase = new RedisGrantKeys(KeyPrefix).TagBase(GrantId.RoutingTag(Tenant));
        var chunks = await Database.SortedSetRangeByScoreAsync(directory, 0, double.PositiveInfinity);
        return await Task.WhenAll(chunks.Select(c => Database.SortedSetLengthAsync(RedisGrantKeys.IndexChunk(tagBase, directory, c!))));
    }
}
