namespace Broker.Authentication;

/// <summary>Workload authentication log messages, EventIds 5100-5199. Names are a telemetry contract: never rename.</summary>
/// <remarks>Tokens are never logged; refusals name the catalog reason only.</remarks>
internal static partial class Log
{
    [LoggerMessage(5100, LogLevel.Warning, "Unauthenticated request from {ClientAddress} to {Action}: {Reason}. Further ones from this address are not logged for {WindowSeconds} s.", EventName = nameof(Unauthenticated))]
    public static partial void Unauthenticated(ILogger logger, string clientAddress, string action, string reason, int windowSeconds);
}
