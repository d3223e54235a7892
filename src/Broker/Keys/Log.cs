namespace Broker.Keys;

/// <summary>Key ring log messages, EventIds 3000-3999. Names are a telemetry contract: never rename.</summary>
internal static partial class Log
{
    [LoggerMessage(3000, LogLevel.Warning, "Generated an ephemeral signing key {KeyId}; tokens will not verify after a restart or on other replicas.", EventName = nameof(EphemeralKeyGenerated))]
    public static partial void EphemeralKeyGenerated(ILogger logger, string keyId);

    [LoggerMessage(3001, LogLevel.Information, "Loaded {Count} signing key(s); active key {KeyId}.", EventName = nameof(KeysLoaded))]
    public static partial void KeysLoaded(ILogger logger, int count, string keyId);
}
