using Broker.Grants;
using Broker.Grants.Redis;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>
/// The store's scripts go by their SHA-1 (<see cref="RedisScript"/>): the digest must be the one Redis gives the text, and
/// a server that no longer knows a script (restarted, failed over, flushed) must be sent it again, not refuse the work.
/// </summary>
public abstract partial class RedisGrantStoreTestBase
{
    [Fact]
    public async Task Scripts_DigestIsTheOneRedisGivesTheText()
    {
        // Arrange
        await using var admin = await ConnectAdminAsync();
        var server = admin.GetServer(TagKey);

        // Act + Assert: every script of the grant store.
        foreach (var script in new[]
        {
            RedisGrantScripts.Record, RedisGrantScripts.Read, RedisGrantScripts.Revoke, RedisGrantScripts.Page,
            RedisGrantScripts.AppendAudit, RedisGrantScripts.HistoryLost, RedisGrantScripts.NewestPosition,
        })
        {
            Assert.Equal(Convert.ToHexString(await server.ScriptLoadAsync(script.Text)), Convert.ToHexString(script.Sha1));
        }
    }

    [Fact]
    public async Task Scripts_ServerForgetsThem_RecordReadRevokeAndListSendThemAgain()
    {
        // Arrange: the store has run its scripts once; then the tag's server forgets every script, as after a restart.
        var before = NewGrant();
        Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(before, Issued(before), Ct));
        await using var admin = await ConnectAdminAsync();
        var server = admin.GetServer(TagKey);
        await server.ScriptFlushAsync();
        Assert.False(await server.ScriptExistsAsync(RedisGrantScripts.Record.Sha1));

        // Act
        var after = NewGrant();
        var recorded = await Store.RecordAsync(after, Issued(after), Ct);
        var found = await Store.FindAsync(before.Id, Ct);
        var revoked = await Store.RevokeAsync(before.Id, "admin", "scripts flushed", Ct);
        var page = await Store.ListAsync(GrantQuery.ForTenant(Tenant), null, 100, Ct);

        // Assert: each operation did its work, and the record script is known again.
        Assert.Equal(RecordGrantResult.Recorded, recorded);
        Assert.Equal(before.Id, found?.Id);
        Assert.IsType<Revoked>(revoked);
        Assert.Contains(after.Id, page.Grants.Select(g => g.Id));
        Assert.True(await server.ScriptExistsAsync(RedisGrantScripts.Record.Sha1));
    }

    /// <summary>A key of this test's tag: its server holds the tag's scripts' effects.</summary>
    private RedisKey TagKey => new RedisGrantKeys(KeyPrefix).TagBase(GrantId.RoutingTag(Tenant));

    /// <summary>A connection that may send admin commands (SCRIPT, CLIENT): the store's own does not allow them.</summary>
    private async Task<ConnectionMultiplexer> ConnectAdminAsync()
    {
        var options = RedisConnectionFactory.CreateConfiguration(new RedisOptions { Configuration = Configuration, KeyPrefix = KeyPrefix });
        options.AllowAdmin = true;
        return await ConnectionMultiplexer.ConnectAsync(options);
    }
}
