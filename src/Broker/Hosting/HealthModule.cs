using Broker.Grants;
using Broker.Grants.Redis;
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

        // GET /readyz — can serve exchanges: a policy is in force, every trust domain has a bundle, the grant store
        // answers, and Redis (when used) cannot evict.
        endpoints.MapGet("/readyz", async (HttpContext context, IPolicyProvider policy, TrustBundleRegistry bundles, WorkloadApiConnection workloadApi, IOptions<SpiffeAgentOptions> spiffe, IGrantStore grants, CancellationToken cancellationToken) =>
        {
            // Without the grant store no token can be issued (fail closed), so the replica is not ready.
            var storeReady = await grants.IsReadyAsync(cancellationToken);
            var workloadApiReady = spiffe.Value.ResolvedEndpoint is null || workloadApi.IsReady;

            // An evicting Redis can drop revocation marks, and revoked tokens would be honoured again: not ready.
            // A policy that cannot be read is a warning (Broker:Redis:AssumeNoEviction declares it).
            var eviction = context.RequestServices.GetService<RedisEvictionPolicyCheck>() is { } check
                ? await check.CheckAsync(cancellationToken)
                : null;
            var checks = new Dictionary<string, string>
            {
                ["policy"] = policy.Current is { } current ? current.Version : "not loaded",
                ["policy_reload"] = policy.LastReloadFailure is null ? "ok" : "failed",
                ["bundles"] = bundles.Health,
                ["workload_api"] = spiffe.Value.ResolvedEndpoint is null ? "not configured" : workloadApiReady ? "ok" : "waiting",
                ["grant_store"] = storeReady ? "ok" : "unavailable",
                ["redis_eviction_policy"] = eviction?.Detail ?? "not applicable",
            };
            List<string>? warnings = eviction?.State == EvictionPolicyState.Unknown
                ? ["redis_eviction_policy: Redis did not disclose its maxmemory-policy; make sure it is noeviction and set Broker:Redis:AssumeNoEviction=true"]
                : null;

            // The last good policy stays in force after a rejected edit, so the replica is still ready; but the files
            // on disk are not what it runs, and the operator should know until they compile again.
            if (policy.LastReloadFailure is { } failure)
            {
                (warnings ??= []).Add(FormattableString.Invariant(
                    $"policy_reload: the policy files changed at {failure.At:O} and were rejected with {failure.ErrorCount} error(s) (logged as PolicyError); policy {policy.Current?.Version} stays in force"));
            }
            var ready = policy.Current is not null && bundles.AllLoaded && workloadApiReady && storeReady
                && eviction?.State != EvictionPolicyState.Evicting;
            return Results.Json(
                new HealthReport(ready ? "ready" : "not ready", checks, warnings),
                BrokerJsonContext.Default.HealthReport,
                statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        }).AllowAnonymous();
    }
}
