namespace Broker.SpiffeAgent;

/// <summary>Workload API connection log messages, EventIds 6900-6999.</summary>
internal static partial class Log
{
    [LoggerMessage(6900, LogLevel.Information, "Serving TLS with X509-SVID {SpiffeId} from the Workload API.", EventName = nameof(SvidReady))]
    public static partial void SvidReady(ILogger logger, string spiffeId);
}
