namespace Broker.AuthZen;

/// <summary>AuthZEN decision point log messages, EventIds 4500-4599. Names are a telemetry contract: never rename.</summary>
internal static partial class Log
{
    [LoggerMessage(4500, LogLevel.Information, "Decision point {DecisionPoint} of tenant {Tenant} denied capability {Capability} (rule {Rule}, request {RequestId}).", EventName = nameof(DecisionPointDenied))]
    public static partial void DecisionPointDenied(ILogger logger, string tenant, string decisionPoint, string capability, string rule, string requestId);

    [LoggerMessage(4501, LogLevel.Warning, "Decision point {DecisionPoint} of tenant {Tenant} could not decide capability {Capability} ({Failure}, request {RequestId}); denied.", EventName = nameof(DecisionPointUnavailable))]
    public static partial void DecisionPointUnavailable(ILogger logger, string tenant, string decisionPoint, string capability, string failure, string requestId);

    [LoggerMessage(4502, LogLevel.Warning, "The circuit to decision point {DecisionPoint} of tenant {Tenant} opened after {Failures} failures in a row; exchanges that need it are denied for {OpenFor}.", EventName = nameof(CircuitOpened))]
    public static partial void CircuitOpened(ILogger logger, string tenant, string decisionPoint, int failures, TimeSpan openFor);

    [LoggerMessage(4503, LogLevel.Information, "The circuit to decision point {DecisionPoint} of tenant {Tenant} closed: it answered again.", EventName = nameof(CircuitClosed))]
    public static partial void CircuitClosed(ILogger logger, string tenant, string decisionPoint);

    [LoggerMessage(4504, LogLevel.Debug, "Decision point {DecisionPoint} of tenant {Tenant} permitted capability {Capability} (rule {Rule}, request {RequestId}, cached: {Cached}).", EventName = nameof(DecisionPointPermitted))]
    public static partial void DecisionPointPermitted(ILogger logger, string tenant, string decisionPoint, string capability, string rule, string requestId, bool cached);

    [LoggerMessage(4505, LogLevel.Warning, "Decision point {DecisionPoint} of tenant {Tenant} names host {Host}, which Broker:AuthZen:AllowedHosts does not list; not called, denied.", EventName = nameof(DecisionPointHostRefused))]
    public static partial void DecisionPointHostRefused(ILogger logger, string tenant, string decisionPoint, string host);
}
