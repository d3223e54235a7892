// Broker.Validation — resource servers honour broker tokens.

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Broker.Validation.Revocation;

/// <summary>
/// Healthy while the revocation feed is connected and heard from (an event or heartbeat) within
/// <see cref="RevocationFeedOptions.FreshnessWindow"/>; unhealthy otherwise: revocations may be going unheard, and
/// with <see cref="RevocationPolicy.MaxStaleness"/> tokens are being refused.
/// </summary>
internal sealed class RevocationFeedHealthCheck(RevocationFeedClient feed) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["connected"] = feed.Connected };
        if (feed.LastHeard is { } heard)
        {
            data["last_heard"] = heard;
        }

        return Task.FromResult(feed.IsFresh
            ? HealthCheckResult.Healthy("The broker revocation feed is connected and current.", data)
            : new HealthCheckResult(context.Registration.FailureStatus, feed.Connected
                ? "The broker revocation feed has fallen silent."
                : "The broker revocation feed is not connected.", data: data));
    }
}
