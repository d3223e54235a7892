using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Broker.Trust;

/// <summary>
/// <c>workload_api</c> (ready): when the broker uses the SPIFFE Workload API, its first bundles (and, serving TLS, its
/// X509-SVID) have arrived. <c>not configured</c> otherwise.
/// </summary>
internal sealed class WorkloadApiHealthCheck(WorkloadApiConnection workloadApi, IOptions<SpiffeAgentOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(options.Value.ResolvedEndpoint is null ? HealthCheckResult.Healthy("not configured")
            : workloadApi.IsReady ? HealthCheckResult.Healthy("ok")
            : HealthCheckResult.Unhealthy("waiting"));
}
