namespace Broker.StatusList;

/// <summary>
/// Log messages of the status list, EventIds 2200–2299 (docs/operations.md, "Log event ids"). Method names are the EventId names users'
/// telemetry matches on: never rename one. Never log a token.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(2200, LogLevel.Warning, "Token exchange refused: the status list of tenant {Tenant} has no free index (Broker:StatusList:Capacity).", EventName = nameof(StatusListFull))]
    public static partial void StatusListFull(ILogger logger, string tenant);

    [LoggerMessage(2201, LogLevel.Debug, "Status list of tenant {Tenant} built: {Bytes} bytes compressed.", EventName = nameof(StatusListBuilt))]
    public static partial void StatusListBuilt(ILogger logger, string tenant, int bytes);
}
