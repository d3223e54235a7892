// Broker.Validation — resource servers honour broker tokens.

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Broker.Validation.Revocation;

/// <summary>
/// Healthy while a status list is held that has not expired and is no older than
/// <see cref="StatusListOptions.MaxAge"/>; unhealthy otherwise: revocations may be going unseen, and (unless
/// <see cref="RevocationPolicy.AllowWhenStale"/>) tokens are being refused.
/// </summary>
internal sealed class StatusListHealthCheck(StatusListClient client) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var check = client.Check;
        var data = new Dictionary<string, object>();
        if (check.ListUri is { } uri)
        {
            data["list_uri"] = uri;
        }

        if (check.CurrentAsOf is { } asOf)
        {
            data["issued_at"] = asOf;
        }

        if (check.FetchedAt is { } fetched)
        {
            data["fetched_at"] = fetched;
        }

        if (client.LastFailure is { } failure)
        {
            data["last_failure"] = failure;
        }

        return Task.FromResult(client.IsFresh
            ? HealthCheckResult.Healthy("The broker status list is current.", data)
            : new HealthCheckResult(context.Registration.FailureStatus, check.FetchedAt is null
                ? "No broker status list has been fetched yet."
                : "The broker status list is stale.", data: data));
    }
}
