using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Broker.Grants;

/// <summary>
/// <c>grant_store</c> (ready): the grant store answers (<see cref="IGrantStore.IsReadyAsync"/>: on Redis, the primary
/// the writes go to, or every primary of a cluster). Without it no token can be issued (fail closed): not ready.
/// </summary>
internal sealed class GrantStoreHealthCheck(IGrantStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await store.IsReadyAsync(cancellationToken) ? HealthCheckResult.Healthy("ok") : HealthCheckResult.Unhealthy("unavailable");
}
