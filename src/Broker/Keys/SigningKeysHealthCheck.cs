using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Broker.Keys;

/// <summary>
/// <c>keys</c> (ready): the ring has an active key, and the JWKS publishes it (a token signed with an unpublished key
/// could not be verified). A ring that cannot name its active key (it throws <see cref="InvalidOperationException"/>,
/// as a ring shared through a store may while it has none) is not ready. A ring shared through Redis that this replica
/// has not read for three poll intervals is degraded: it still signs with the key it holds, which the schedule keeps
/// valid, but a rotation or retirement made elsewhere may not have reached it.
/// </summary>
internal sealed class SigningKeysHealthCheck(ISigningKeyProvider keys, TimeProvider timeProvider) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        SigningKey? active;
        try
        {
            active = keys.Active;
        }
        catch (InvalidOperationException)
        {
            active = null;
        }

        if (active is null)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("no active key"));
        }

        if (keys.Find(active.KeyId) is null)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("active key not published"));
        }

        if (keys is SharedKeyRing shared && shared.LastReadAt is { } readAt)
        {
            var age = timeProvider.GetUtcNow() - readAt;
            if (age > 3 * shared.PollInterval)
            {
                return Task.FromResult(HealthCheckResult.Degraded($"key ring last read from Redis {age.TotalSeconds:0} s ago"));
            }
        }

        return Task.FromResult(HealthCheckResult.Healthy("ok"));
    }
}
