namespace Broker.Dev;

/// <summary>Dev-mode log messages, EventIds 1900-1999.</summary>
internal static partial class Log
{
    [LoggerMessage(1900, LogLevel.Warning, "Dev mode: NOT FOR PRODUCTION. Listening on {Issuer} only.", EventName = nameof(DevModeStarted))]
    public static partial void DevModeStarted(ILogger logger, string issuer);
}
