using Broker.Audit;
using Broker.Policy;

namespace Broker.Grants;

/// <summary>
/// Writes audit events: to the grant store (a grant and its event in one step), as one structured log event each
/// under the <c>Broker.Audit</c> category so operators can route them apart, and to the JSON-lines sink when one
/// is configured.
/// </summary>
/// <remarks>
/// A tenant's stream holds only events of that tenant. An event whose tenant the policy does not define (a name
/// taken from request input, say an admin call for a tenant that does not exist) goes to the global stream
/// instead, with no tenant: request input never chooses which stream an event is written to.
/// </remarks>
internal sealed class AuditTrail(IGrantStore store, IPolicyProvider policy, AuditFileSink sink, ILoggerFactory loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Broker.Audit");

    /// <summary>
    /// Records a grant with its issuance event, and allocates its status list index; nothing is recorded (or logged)
    /// when the store refuses it because its parent is no longer active or the status list is full. Throws when the
    /// store cannot confirm the write.
    /// </summary>
    public async ValueTask<RecordGrantOutcome> RecordGrantAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken)
    {
        var outcome = await store.RecordWithStatusAsync(grant, issued, cancellationToken);
        if (outcome.Result == RecordGrantResult.Recorded)
        {
            WriteLine(issued);
        }

        return outcome;
    }

    /// <summary>
    /// Records an event without a grant. A store failure does not hide the event: it is still logged,
    /// and the failure is reported.
    /// </summary>
    public async ValueTask RecordAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        if (auditEvent.Tenant is { } tenant && policy.Current?.Tenants.ContainsKey(tenant) != true)
        {
            auditEvent = auditEvent with { Tenant = null };
        }

        WriteLine(auditEvent);
        try
        {
            await store.AppendAuditAsync(auditEvent, cancellationToken);
        }
        catch (GrantStoreUnavailableException)
        {
            Audit.Log.AuditStoreUnavailable(_logger, auditEvent.Type);
        }
    }

    /// <summary>
    /// Writes the log line of an event the store already recorded in an atomic step of its own
    /// (a revocation), so the log stays a complete copy of the trail.
    /// </summary>
    public void LogRecorded(AuditEvent auditEvent) => WriteLine(auditEvent);

    private void WriteLine(AuditEvent auditEvent)
    {
        if (_logger.IsEnabled(LogLevel.Information))
        {
            Audit.Log.AuditEvent(
                _logger, auditEvent.SchemaVersion, auditEvent.Type, auditEvent.Outcome == AuditOutcome.Allowed ? "allowed" : "denied",
                AuditTimeConverter.ToText(auditEvent.Time), auditEvent.Tenant, auditEvent.Subject, auditEvent.ActorChain,
                auditEvent.RequestedCapabilities, auditEvent.GrantedCapabilities, auditEvent.Audience, auditEvent.TaskId, auditEvent.Purpose,
                auditEvent.PolicyVersion, auditEvent.GrantId, auditEvent.Error, auditEvent.Reason, auditEvent.ClientAddress,
                auditEvent.SubjectTokenSha256, auditEvent.Actor, auditEvent.KeyId);
        }

        sink.Write(auditEvent);
    }
}
