using Broker.Audit;
using Broker.Errors;
using Broker.Grants;
using Broker.RateLimiting;
using Microsoft.Extensions.Options;

namespace Broker.Authentication;

/// <summary>
/// Audits refusals of the workload scheme. An unauthenticated caller proves nothing, so what it names (a
/// tenant in the query, a body) never selects a tenant's stream: its attempts go to the stream without
/// tenant, and at most once per client address per <c>Broker:RateLimits:FailedAuthentication:Window</c>
/// (one warning and one audit event), so a flood cannot flood the log or the store.
/// </summary>
internal sealed class AuthenticationAudit(AuditTrail audit, TimeProvider timeProvider, IOptions<RateLimitOptions> options, ILogger<AuthenticationAudit> logger)
{
    private readonly AddressThrottle _throttle = new(timeProvider, options.Value.FailedAuthentication.Window, options.Value.MaxPartitions);
    private readonly TimeSpan _window = options.Value.FailedAuthentication.Window;

    /// <summary>A request without an acceptable credential, refused with <paramref name="reason"/>.</summary>
    public ValueTask UnauthenticatedAsync(HttpContext context, string action, ErrorDescriptor reason)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(reason);
        var address = context.Connection.RemoteIpAddress;
        if (!_throttle.TryEnter(address))
        {
            return ValueTask.CompletedTask;
        }

        var text = address?.ToString();
        Log.Unauthenticated(logger, text ?? "unknown", action, reason.Reason, (int)_window.TotalSeconds);
        return audit.RecordAsync(new AuditEvent
        {
            Type = action,
            Time = timeProvider.GetUtcNow(),
            Outcome = AuditOutcome.Denied,
            Error = reason.Error,
            Reason = reason.Reason,
            Tenant = null,
            ClientAddress = text,
        }, CancellationToken.None);
    }

    /// <summary>An authenticated workload refused by authorization; <paramref name="tenant"/> only when policy knows it.</summary>
    public ValueTask ForbiddenAsync(HttpContext context, string action, WorkloadPrincipal? caller, string? tenant, ErrorDescriptor reason)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(reason);
        return audit.RecordAsync(new AuditEvent
        {
            Type = action,
            Time = timeProvider.GetUtcNow(),
            Outcome = AuditOutcome.Denied,
            Error = reason.Error,
            Reason = reason.Reason,
            Tenant = tenant,
            Actor = caller?.QualifiedId,
            ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
        }, CancellationToken.None);
    }
}
