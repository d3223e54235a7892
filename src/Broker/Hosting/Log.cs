namespace Broker.Hosting;

/// <summary>Hosting log messages, EventIds 1300-1399. Names are a telemetry contract: never rename.</summary>
internal static partial class Log
{
    [LoggerMessage(1300, LogLevel.Warning, "The grant store did not answer while serving {Path}; answered 503.", EventName = nameof(StoreUnavailable))]
    public static partial void StoreUnavailable(ILogger logger, PathString path);

    [LoggerMessage(1301, LogLevel.Error, "Unhandled exception while serving {Path}; answered 500.", EventName = nameof(UnhandledException))]
    public static partial void UnhandledException(ILogger logger, PathString path, Exception exception);
}
