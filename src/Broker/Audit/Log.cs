namespace Broker.Audit;

/// <summary>Audit log lines, EventIds 1200-1299. Names are a telemetry contract: never rename.</summary>
internal static partial class Log
{
    [LoggerMessage(1200, LogLevel.Information, "{AuditEvent}", EventName = nameof(AuditEvent))]
    public static partial void AuditEvent(ILogger logger, string auditEvent);

    [LoggerMessage(1201, LogLevel.Error, "The audit event {Type} could not be written to the store; it is in this log only.", EventName = nameof(AuditStoreUnavailable))]
    public static partial void AuditStoreUnavailable(ILogger logger, string type);
}
