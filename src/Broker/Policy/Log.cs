namespace Broker.Policy;

/// <summary>Policy log messages, EventIds 4000-4099. Names are a telemetry contract: never rename.</summary>
internal static partial class Log
{
    [LoggerMessage(4000, LogLevel.Information, "Policy {PolicyVersion} in force with {TenantCount} tenant(s).", EventName = nameof(PolicyLoaded))]
    public static partial void PolicyLoaded(ILogger logger, string policyVersion, int tenantCount);

    [LoggerMessage(4001, LogLevel.Error, "Policy rejected with {ErrorCount} error(s); policy {PolicyVersion} stays in force.", EventName = nameof(PolicyRejected))]
    public static partial void PolicyRejected(ILogger logger, int errorCount, string? policyVersion);

    [LoggerMessage(4002, LogLevel.Error, "Policy error: {PolicyError}", EventName = nameof(PolicyError))]
    public static partial void PolicyError(ILogger logger, string policyError);

    [LoggerMessage(4003, LogLevel.Information, "Policy files compile again after {RejectedReloads} rejected reload(s); policy {PolicyVersion} is in force.", EventName = nameof(PolicyRecovered))]
    public static partial void PolicyRecovered(ILogger logger, int rejectedReloads, string policyVersion);
}
