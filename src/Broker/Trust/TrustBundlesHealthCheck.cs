using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Broker.Trust;

/// <summary>
/// <c>bundles</c> (ready): every trust domain the policy names has a bundle, and none from a bundle endpoint is
/// stale (<see cref="TrustBundleRegistry.Health"/>). Without them subjects of that domain cannot be validated: not
/// ready. A bundle endpoint whose newest bundle was refused for an older <c>spiffe_sequence</c> keeps the replica ready
/// (the bundle in force stays valid) with a warning, until the endpoint serves a bundle that is not older.
/// </summary>
internal sealed class TrustBundlesHealthCheck(TrustBundleRegistry bundles) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var health = bundles.Health;
        return Task.FromResult(
            !health.Ready ? HealthCheckResult.Unhealthy(health.Finding)
            : health.Warning is { } warning ? HealthCheckResult.Degraded(health.Finding, data: Telemetry.ReadinessWarning.Data(warning))
            : HealthCheckResult.Healthy(health.Finding));
    }
}
