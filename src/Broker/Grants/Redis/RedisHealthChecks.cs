using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// <c>redis_eviction_policy</c> (ready), from <see cref="RedisEvictionPolicyCheck"/>: <c>noeviction</c> or
/// <c>assumed noeviction</c> is healthy; an evicting policy (<c>&lt;policy&gt; on &lt;endpoint&gt;</c>) is unhealthy, because
/// an evicted revocation brings a revoked token back; a policy Redis will not disclose is degraded (ready, with a
/// warning to check it and declare <c>Broker:Redis:AssumeNoEviction</c>); <c>unavailable</c> (Redis did not answer)
/// is degraded here and left to <c>grant_store</c> to fail. <c>not applicable</c> without Redis.
/// </summary>
internal sealed class RedisEvictionPolicyHealthCheck(IServiceProvider services) : IHealthCheck
{
    private const string UnknownWarning =
        "redis_eviction_policy: Redis did not disclose its maxmemory-policy; make sure it is noeviction and set Broker:Redis:AssumeNoEviction=true";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetService<RedisEvictionPolicyCheck>() is not { } check)
        {
            return HealthCheckResult.Healthy("not applicable");
        }

        var status = await check.CheckAsync(cancellationToken);
        return status.State switch
        {
            EvictionPolicyState.NoEviction or EvictionPolicyState.AssumedNoEviction => HealthCheckResult.Healthy(status.Detail),
            EvictionPolicyState.Evicting => HealthCheckResult.Unhealthy(status.Detail),
            EvictionPolicyState.Unknown => HealthCheckResult.Degraded(status.Detail, data: Telemetry.ReadinessWarning.Data(UnknownWarning)),
            _ => HealthCheckResult.Degraded(status.Detail),
        };
    }
}

/// <summary>
/// <c>revocation_feed</c> (ready): the source of the live revocation feed works. With Redis it is the revocation
/// channel (pub/sub) on which every replica announces its revocations: while this replica cannot receive them, the
/// verifiers connected to its feed would learn of revocations only on their next reconnection, so it is not ready
/// (they reconnect to a replica that hears them). In memory the source is the process itself: <c>in process</c>.
/// </summary>
internal sealed class RevocationSourceHealthCheck(IServiceProvider services, IOptions<RedisOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetService<IGrantStore>() is not RedisGrantStore || services.GetService<IConnectionMultiplexer>() is not { } redis)
        {
            return Task.FromResult(HealthCheckResult.Healthy("in process"));
        }

        var channel = new RedisGrantKeys(options.Value.KeyPrefix).RevocationChannel;
        return Task.FromResult(redis.GetSubscriber().IsConnected(channel)
            ? HealthCheckResult.Healthy("ok")
            : HealthCheckResult.Unhealthy("revocation channel disconnected"));
    }
}
