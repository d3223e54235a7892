namespace Broker.Review;

/// <summary>Access review log messages, EventIds 5200-5219 (the admin band). Names are a telemetry contract: never rename.</summary>
internal static partial class Log
{
    [LoggerMessage(5200, LogLevel.Warning, "The grant counter's queue is full: grants of tenant {Tenant} are counted as overflow until the next flush.", EventName = nameof(UsageQueueFull))]
    public static partial void UsageQueueFull(ILogger logger, string tenant);

    [LoggerMessage(5201, LogLevel.Warning, "Writing {Grants} grant counts to the store failed; they are lost (the grants themselves are recorded).", EventName = nameof(UsageFlushFailed))]
    public static partial void UsageFlushFailed(ILogger logger, long grants, Exception exception);

    [LoggerMessage(5202, LogLevel.Debug, "Flushed {Grants} grant counts in {Days} tenant-days.", EventName = nameof(UsageFlushed))]
    public static partial void UsageFlushed(ILogger logger, long grants, int days);
}
