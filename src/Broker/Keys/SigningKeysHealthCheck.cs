using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Broker.Keys;

/// <summary>
/// <c>keys</c> (ready): the ring has an active key, and the JWKS publishes it (a token signed with an unpublished key
/// could not be verified). A ring that cannot name its active key (it throws <see cref="InvalidOperationException"/>,
/// as a ring shared through a store may while it has none) is not ready.
/// </summary>
internal sealed class SigningKeysHealthCheck(ISigningKeyProvider keys) : IHealthCheck
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

        return Task.FromResult(keys.Find(active.KeyId) is null
            ? HealthCheckResult.Unhealthy("active key not published")
            : HealthCheckResult.Healthy("ok"));
    }
}
