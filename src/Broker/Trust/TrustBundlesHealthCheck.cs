using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Broker.Subjects;

/// <summary>
/// <c>bundles</c> (ready): every trust domain the policy names has a bundle, and none from a bundle endpoint is
/// stale (<see cref="TrustBundleRegistry.Health"/>: <c>ok</c>, <c>missing</c> or <c>stale</c>). Without them subjects
/// of that domain cannot be validated: not ready.
/// </summary>
internal sealed class TrustBundlesHealthCheck(TrustBundleRegistry bundles) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var health = bundles.Health;
        return Task.FromResult(health == "ok" ? HealthCheckResult.Healthy(health) : HealthCheckResult.Unhealthy(health));
    }
}
