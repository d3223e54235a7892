namespace Broker.Grants;

/// <summary>
/// Log messages of the grant store, EventIds 2000–2099, shared with <c>Redis/Log.cs</c> (the Redis store's messages).
/// Method names are the EventId names users' telemetry matches on: never rename one. Never log a token, a key or
/// the Redis password.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(2001, LogLevel.Warning, "Grant store: in process memory. Grants and revocations are lost on restart and not shared between replicas; not for production.", EventName = nameof(InMemoryGrantStoreSelected))]
    public static partial void InMemoryGrantStoreSelected(ILogger logger);
}
