namespace Broker.Keys;

/// <summary>Key ring log messages, EventIds 3000-3099. Names are a telemetry contract: never rename.</summary>
internal static partial class Log
{
    [LoggerMessage(3000, LogLevel.Warning, "Generated an ephemeral signing key {KeyId}; tokens will not verify after a restart or on other replicas.", EventName = nameof(EphemeralKeyGenerated))]
    public static partial void EphemeralKeyGenerated(ILogger logger, string keyId);

    [LoggerMessage(3001, LogLevel.Information, "Loaded {Count} signing key(s); active key {KeyId}.", EventName = nameof(KeysLoaded))]
    public static partial void KeysLoaded(ILogger logger, int count, string keyId);

    [LoggerMessage(3002, LogLevel.Information, "Key ring version {Version} in force: active key {KeyId}, {Published} key(s) published.", EventName = nameof(KeyRingLoaded))]
    public static partial void KeyRingLoaded(ILogger logger, long version, string keyId, int published);

    [LoggerMessage(3003, LogLevel.Information, "Added signing key {KeyId} ({Origin}) to the ring; it signs from {ActivatesAt:O}.", EventName = nameof(KeyAdded))]
    public static partial void KeyAdded(ILogger logger, string keyId, string origin, DateTimeOffset activatesAt);

    [LoggerMessage(3004, LogLevel.Information, "Removed signing key {KeyId} from the ring: the last token it signed has expired.", EventName = nameof(KeyRemoved))]
    public static partial void KeyRemoved(ILogger logger, string keyId);

    [LoggerMessage(3005, LogLevel.Warning, "The key ring in Redis could not be read or written; this replica keeps the keys it has and retries.", EventName = nameof(KeyRingUnavailable))]
    public static partial void KeyRingUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(3006, LogLevel.Error, "Signing key {KeyId} cannot be decrypted with this replica's Data Protection keys; it will not sign here.", EventName = nameof(KeyDecryptionFailed))]
    public static partial void KeyDecryptionFailed(ILogger logger, string keyId);

    [LoggerMessage(3007, LogLevel.Warning, "An admin rotated the signing key: {KeyId} signs from {ActivatesAt:O}, replacing {PreviousKeyId}.", EventName = nameof(KeyRotatedByAdmin))]
    public static partial void KeyRotatedByAdmin(ILogger logger, string keyId, DateTimeOffset activatesAt, string? previousKeyId);

    [LoggerMessage(3008, LogLevel.Warning, "An admin retired signing key {KeyId}.", EventName = nameof(KeyRetiredByAdmin))]
    public static partial void KeyRetiredByAdmin(ILogger logger, string keyId);

    [LoggerMessage(3009, LogLevel.Debug, "Another replica holds the key rotation lease.", EventName = nameof(LeaseBusy))]
    public static partial void LeaseBusy(ILogger logger);

    [LoggerMessage(3010, LogLevel.Warning, "The key ring changed after version {Version} was read; the other replica's write stands.", EventName = nameof(KeyRingWriteLost))]
    public static partial void KeyRingWriteLost(ILogger logger, long version);

    [LoggerMessage(3011, LogLevel.Error, "The stored record of signing key {KeyId} is invalid (its public key does not match its kid); it is not published.", EventName = nameof(KeyRecordInvalid))]
    public static partial void KeyRecordInvalid(ILogger logger, string keyId);

    [LoggerMessage(3012, LogLevel.Information, "Broker:Keys:SigningKeyFiles ({Count} file(s)) ignored: the key ring in Redis already has keys; files are imported only into an empty ring.", EventName = nameof(KeyFilesIgnored))]
    public static partial void KeyFilesIgnored(ILogger logger, int count);

    [LoggerMessage(3013, LogLevel.Warning, "The key ring in Redis could not be read at start; this replica has no signing key until it can.", EventName = nameof(KeyRingUnavailableAtStart))]
    public static partial void KeyRingUnavailableAtStart(ILogger logger, Exception exception);
}
