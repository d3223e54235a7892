namespace Broker.Audit;

/// <summary>Audit log lines, EventIds 1200-1299. Names are a telemetry contract: never rename.</summary>
internal static partial class Log
{
    /// <summary>
    /// One audit event as structured fields (each a named property for structured log providers, e.g. the JSON
    /// console formatter or OpenTelemetry), the same fields and names as the JSON schema in docs/audit.md.
    /// </summary>
    [LoggerMessage(1200, LogLevel.Information,
        "audit v{SchemaVersion} {Type} {Outcome} time={Time} tenant={Tenant} subject={Subject} actor_chain={ActorChain} " +
        "requested={RequestedCapabilities} granted={GrantedCapabilities} audience={Audience} task_id={TaskId} purpose={Purpose} " +
        "policy_version={PolicyVersion} grant_id={GrantId} error={Error} reason={Reason} client_address={ClientAddress} " +
        "subject_token_sha256={SubjectTokenSha256} actor={Actor} key_id={KeyId}",
        EventName = nameof(AuditEvent))]
    public static partial void AuditEvent(
        ILogger logger, int schemaVersion, string type, string outcome, string time, string? tenant, string? subject, IReadOnlyList<string> actorChain,
        IReadOnlyList<string> requestedCapabilities, IReadOnlyList<string> grantedCapabilities, string? audience, string? taskId, string? purpose,
        string? policyVersion, string? grantId, string? error, string? reason, string? clientAddress, string? subjectTokenSha256, string? actor, string? keyId);

    [LoggerMessage(1201, LogLevel.Error, "The audit event {Type} could not be written to the store; it is in this log only.", EventName = nameof(AuditStoreUnavailable))]
    public static partial void AuditStoreUnavailable(ILogger logger, string type);

    [LoggerMessage(1202, LogLevel.Information, "Audit events are also written as JSON lines to {Destination}.", EventName = nameof(AuditSinkOpened))]
    public static partial void AuditSinkOpened(ILogger logger, string destination);

    [LoggerMessage(1203, LogLevel.Error, "The audit sink stopped after a write error ({ErrorType}, 0x{HResult:X8}); events still go to the store and this log.", EventName = nameof(AuditSinkFailed))]
    public static partial void AuditSinkFailed(ILogger logger, string errorType, int hResult);
}
