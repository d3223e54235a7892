using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Broker.Policy;

/// <summary><c>policy</c> (ready): a policy is in force; its version is the finding. None yet: not ready.</summary>
internal sealed class PolicyInForceHealthCheck(IPolicyProvider policy) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(policy.Current is { } current
            ? HealthCheckResult.Healthy(current.Version)
            : HealthCheckResult.Unhealthy("not loaded"));
}

/// <summary>
/// <c>policy_reload</c> (ready): the newest edit of the policy files compiled. A rejected edit leaves the last good
/// policy in force, so the replica stays ready (degraded), with a warning until the files compile again.
/// </summary>
internal sealed class PolicyReloadHealthCheck(IPolicyProvider policy) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (policy.LastReloadFailure is not { } failure)
        {
            return Task.FromResult(HealthCheckResult.Healthy("ok"));
        }

        var warning = string.Create(
            CultureInfo.InvariantCulture,
            $"policy_reload: the policy files changed at {failure.At:O} and were rejected with {failure.ErrorCount} error(s) (logged as PolicyError); policy {policy.Current?.Version} stays in force");
        return Task.FromResult(HealthCheckResult.Degraded("failed", data: Telemetry.ReadinessWarning.Data(warning)));
    }
}
