using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// Whether the Redis store can serve now, for <c>/readyz</c>: on a Cluster every primary must answer, standalone and
/// under Sentinel the primary the writes go to. Whether Redis may evict is <see cref="RedisEvictionPolicyCheck"/>'s.
/// </summary>
internal sealed class RedisReadiness(RedisStoreConnection redis, ILogger logger)
{
    /// <summary>See <see cref="IGrantStore.IsReadyAsync"/>; never throws for an unreachable Redis.</summary>
    public async ValueTask<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            var servers = redis.Multiplexer.GetServers();
            var primaries = servers.Where(s => !s.IsReplica).ToList();
            if (servers.Any(s => s.ServerType == ServerType.Cluster))
            {
                // Every primary must answer: on a cluster, any one of them down makes some tenants unavailable.
                if (primaries.Count == 0 || primaries.Any(s => !s.IsConnected))
                {
                    return false;
                }

                await redis.BoundAsync(nameof(IsReadyAsync), Task.WhenAll(primaries.Select(s => s.PingAsync())), cancellationToken);
                return true;
            }

            // Standalone or Sentinel: the primary the writes go to must answer, not every endpoint still marked
            // primary. After a Sentinel failover the crashed primary stays in the list, disconnected and marked
            // primary, until it comes back as a replica: counting it would keep every replica of the broker out
            // of service while the promoted primary takes writes.
            if (!primaries.Any(s => s.IsConnected))
            {
                return false;
            }

            await redis.RunAsync(nameof(IsReadyAsync), db => db.PingAsync(CommandFlags.DemandMaster), cancellationToken);
            return true;
        }
        catch (GrantStoreUnavailableException e)
        {
            Log.ReadinessProbeFailed(logger, e);
            return false;
        }
    }
}
