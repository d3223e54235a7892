using System.Text.Json;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.Keys;
using Broker.Policy;
using Broker.Telemetry;
using Broker.Trust;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using FrameworkHealthReport = Microsoft.Extensions.Diagnostics.HealthChecks.HealthReport;

namespace Broker.Hosting;

/// <summary>
/// Liveness and readiness for orchestrators, on the framework's health checks: <c>/healthz</c> runs the checks tagged
/// <see cref="Live"/>, <c>/readyz</c> those tagged <see cref="Ready"/>. Both answer the <see cref="HealthReport"/> JSON
/// (<c>status</c>, <c>checks</c> by name, <c>warnings</c>) that probes, docs and the chart's tests read.
/// </summary>
/// <remarks>
/// Readiness: healthy and degraded are ready (200), unhealthy is not (503). A degraded check is one that needs an
/// operator's look without being a reason to refuse service (a rejected policy edit, a Redis that will not disclose
/// its eviction policy): its warning is in <c>warnings</c>. Liveness has no check of the broker's own: the process
/// answering is the finding, and nothing a restart cures is checked (a Redis outage is not), so an orchestrator never
/// restarts every replica for an outage outside them. A host may add checks tagged <see cref="Live"/>.
/// </remarks>
internal static class HealthModule
{
    /// <summary>The tag of liveness checks.</summary>
    public const string Live = "live";

    /// <summary>The tag of readiness checks.</summary>
    public const string Ready = "ready";

    public static void Register(IServiceCollection services)
    {
        // In the order /readyz lists them.
        services.AddHealthChecks()
            .AddCheck<PolicyInForceHealthCheck>("policy", tags: [Ready])
            .AddCheck<PolicyReloadHealthCheck>("policy_reload", tags: [Ready])
            .AddCheck<TrustBundlesHealthCheck>("bundles", tags: [Ready])
            .AddCheck<WorkloadApiHealthCheck>("workload_api", tags: [Ready])
            .AddCheck<GrantStoreHealthCheck>("grant_store", tags: [Ready])
            .AddCheck<RedisEvictionPolicyHealthCheck>("redis_eviction_policy", tags: [Ready])
            .AddCheck<SigningKeysHealthCheck>("keys", tags: [Ready])
            .AddCheck<RevocationSourceHealthCheck>("revocation_feed", tags: [Ready]);
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        // GET /healthz — the process is up.
        endpoints.MapHealthChecks("/healthz", Options(Live, healthy: "ok", unhealthy: "not ok")).AllowAnonymous();

        // GET /readyz — can serve exchanges: a policy in force, every trust domain's bundle, the grant store answering,
        // Redis unable to evict, an active key, and the revocation feed's source.
        endpoints.MapHealthChecks("/readyz", Options(Ready, healthy: "ready", unhealthy: "not ready")).AllowAnonymous();
    }

    private static HealthCheckOptions Options(string tag, string healthy, string unhealthy) => new()
    {
        Predicate = registration => registration.Tags.Contains(tag),
        ResultStatusCodes =
        {
            [HealthStatus.Healthy] = StatusCodes.Status200OK,
            [HealthStatus.Degraded] = StatusCodes.Status200OK,
            [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
        },
        ResponseWriter = (context, report) => WriteAsync(context, report, report.Status == HealthStatus.Unhealthy ? unhealthy : healthy),
    };

    private static Task WriteAsync(HttpContext context, FrameworkHealthReport report, string status)
    {
        var checks = new Dictionary<string, string>(StringComparer.Ordinal);
        List<string>? warnings = null;
        foreach (var (name, entry) in report.Entries)
        {
            // A check that threw or timed out: its exception's text is never shown (it could name hosts or
            // credentials); the log has it.
            checks[name] = entry.Exception switch
            {
                null => entry.Description ?? entry.Status.ToString(),
                OperationCanceledException => "timed out",
                _ => "failed",
            };
            if (entry.Data.TryGetValue(ReadinessWarning.Key, out var warning) && warning is string text)
            {
                (warnings ??= []).Add(text);
            }
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(context.Response.Body, new HealthReport(status, checks, warnings), HealthJsonContext.Default.HealthReport, context.RequestAborted);
    }
}
