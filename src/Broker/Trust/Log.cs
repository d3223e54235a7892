namespace Broker.SpiffeAgent;

/// <summary>
/// Log messages of the broker's own Workload API connection, EventIds 3100-3199 (beside the signing keys: both are the
/// broker's own credentials; 6000-6999 belongs to Broker.Spiffe). Names are a telemetry contract: never rename.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(3100, LogLevel.Information, "Serving TLS with X509-SVID {SpiffeId} from the Workload API.", EventName = nameof(SvidReady))]
    public static partial void SvidReady(ILogger logger, string spiffeId);
}
