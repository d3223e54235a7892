using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Redis;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>The grant store contract against a three-node local Redis Cluster.</summary>
public sealed class RedisClusterGrantStoreTests(RedisClusterFixture cluster) : RedisGrantStoreTestBase(cluster.Configuration)
{
    [Fact]
    public async Task RecordAsync_ManyTenants_SpreadAcrossNodesEachInOneSlot()
    {
        // Arrange + Act
        var keys = new RedisGrantKeys(KeyPrefix);
        HashSet<int> slots = [];
        for (var i = 0; i < 30; i++)
        {
            var grant = NewGrant(tenant: $"{Tenant}-{i}");
            await Store.RecordAsync(grant, Issued(grant), Ct);
            var child = NewGrant(tenant: grant.Tenant, parent: grant.Id);
            Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(child, Issued(child), Ct));
            var tag = GrantId.RoutingTag(grant.Tenant);

            // Assert: every key of the grant and of the grant derived from it hashes to the slot of its ID's routing tag.
            var slot = await KeySlotAsync(keys.Grant(tag, grant.Id));
            Assert.Equal(slot, await KeySlotAsync(keys.Grant(tag, child.Id)));
            Assert.Equal(slot, await KeySlotAsync(keys.Children(tag, grant.Id)));
            Assert.Equal(slot, await KeySlotAsync(keys.TagBase(tag) + "g:" + child.Id));
            Assert.Equal(slot, await KeySlotAsync(keys.TenantIndex(tag, grant.Tenant)));
            Assert.Equal(slot, await KeySlotAsync(keys.SubjectIndex(tag, grant.Tenant, grant.Subject)));

            // The tenant's bucket and the subject's chunk the record script names from the tag's key base, and the legacy
            // chunked tenant index the page script reads.
            var bucket = RedisGrantKeys.IndexBucket(keys.TagBase(tag), keys.TenantIndex(tag, grant.Tenant), grant.ExpiresAt.ToUnixTimeMilliseconds());
            Assert.True(await Database.KeyExistsAsync(bucket));
            Assert.Equal(slot, await KeySlotAsync(bucket));
            var chunk = RedisGrantKeys.IndexChunk(keys.TagBase(tag), keys.SubjectIndex(tag, grant.Tenant, grant.Subject), "1");
            Assert.True(await Database.KeyExistsAsync(chunk));
            Assert.Equal(slot, await KeySlotAsync(chunk));
            Assert.Equal(slot, await KeySlotAsync(keys.LegacyTenantIndex(tag, grant.Tenant)));
            Assert.Equal(slot, await KeySlotAsync(RedisGrantKeys.IndexChunk(keys.TagBase(tag), keys.LegacyTenantIndex(tag, grant.Tenant), "1")));
            Assert.Equal(slot, await KeySlotAsync(keys.AuditStream(tag)));
            Assert.Equal(slot, await KeySlotAsync(keys.StatusBits(tag, grant.Tenant)));
            Assert.Equal(slot, await KeySlotAsync(keys.StatusQueue(tag, grant.Tenant)));
            Assert.Equal(slot, await KeySlotAsync(keys.StatusOrder(tag, grant.Tenant)));
            Assert.Equal(slot, await KeySlotAsync(keys.TagBase(tag) + "lb:" + grant.Tenant));
            slots.Add(slot);
        }

        var nodes = Database.Multiplexer.GetServers().Select(s => s.EndPoint).ToHashSet();
        Assert.True(slots.Count > 20);
        Assert.Equal(3, nodes.Count);
    }

    private Task<int> KeySlotAsync(RedisKey key) => Task.FromResult(Database.Multiplexer.HashSlot(key));
}
