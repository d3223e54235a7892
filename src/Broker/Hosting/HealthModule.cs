using Broker.Grants;
using Broker.Policy;
using Broker.SpiffeAgent;
using Microsoft.Extensions.Options;
using Broker.Subjects;

namespace Broker.Hosting;

/// <summary>Liveness and readiness for orchestrators.</summary>
internal static class HealthModule
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        // GET /healthz — the process is up.
        endpoints.MapGet("/healthz", () => Results.Json(
            new HealthReport("ok", new Dictionary<string, string>()), BrokerJsonContext.Default.HealthReport)).AllowAnonymous();

        // GET /readyz — can serve exchanges: a policy is in force, every trust domain has a bundle, the grant store answers.
        endpoints.MapGet("/readyz", async (IPolicyProvider policy, TrustBundleRegistry bundles, WorkloadApiConnection workloadApi, IOptions<SpiffeAgentOptions> spiffe, IGrantStore grants, CancellationToken cancellationToken) =>
        {
            // Without the grant store no token can be issued (fail closed), so the replica is not ready.
            var storeReady = await grants.IsReadyAsync(cancellationToken);
            var workloadApiReady = spiffe.Value.ResolvedEndpoint is null || workloadApi.IsReady;
            var checks = new Dictionary<string, string>
            {
                ["policy"] = policy.Current is { } current ? current.Version : "not loaded",
                ["bundles"] = bundles.Health,
                ["workload_api"] = spiffe.Value.ResolvedEndpoint is null ? "not configured" : workloadApiReady ? "ok" : "waiting",
                ["grant_store"] = storeReady ? "ok" : "unavailable",
            };
            var ready = policy.Current is not null && bundles.AllLoaded && workloadApiReady && storeReady;
            return Results.Json(
                new HealthReport(ready ? "ready" : "not ready", checks),
                BrokerJsonContext.Default.HealthReport,
                statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        }).AllowAnonymous();
    }
}
