namespace Broker.RevocationFeed;

/// <summary>
/// Log messages of the revocation feed, EventIds 2100–2199. Method names are the EventId names
/// users' telemetry matches on: never rename one. Never log a token: callers are named by their identity.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(2100, LogLevel.Debug, "Revocation feed opened for {Caller}, resuming: {Resuming}.", EventName = nameof(FeedOpened))]
    public static partial void FeedOpened(ILogger logger, string caller, bool resuming);

    [LoggerMessage(2101, LogLevel.Debug, "Revocation feed of tenant {Tenant} closed after {Events} events.", EventName = nameof(FeedClosed))]
    public static partial void FeedClosed(ILogger logger, string tenant, int events);

    [LoggerMessage(2102, LogLevel.Warning, "Revocation feed of tenant {Tenant}: the requested position is older than the retained stream; the client is sent a reset.", EventName = nameof(FeedHistoryLost))]
    public static partial void FeedHistoryLost(ILogger logger, string tenant);

    [LoggerMessage(2103, LogLevel.Warning, "Revocation feed refused: {Limit} connections are open on this replica.", EventName = nameof(FeedConnectionLimitReached))]
    public static partial void FeedConnectionLimitReached(ILogger logger, int limit);

    [LoggerMessage(2104, LogLevel.Warning, "Revocation feed of tenant {Tenant} ended: the grant store is unavailable; the client will resume.", EventName = nameof(FeedStoreUnavailable))]
    public static partial void FeedStoreUnavailable(ILogger logger, string tenant, Exception exception);
}
