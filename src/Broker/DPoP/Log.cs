namespace Broker.DPoP;

/// <summary>DPoP log messages, EventIds 1400-1499. Names are a telemetry contract: never rename.</summary>
internal static partial class Log
{
    [LoggerMessage(1400, LogLevel.Debug, "DPoP proof refused: {Reason}.", EventName = nameof(ProofRefused))]
    public static partial void ProofRefused(ILogger logger, string reason);

    [LoggerMessage(1401, LogLevel.Warning, "The DPoP replay cache could not record a proof in {Operation}; the proof was refused.", EventName = nameof(ReplayCacheUnavailable))]
    public static partial void ReplayCacheUnavailable(ILogger logger, string operation, Exception exception);

    [LoggerMessage(1402, LogLevel.Warning, "The DPoP nonce key could not be read from Redis; proofs are refused until it can.", EventName = nameof(NonceKeyUnavailable))]
    public static partial void NonceKeyUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(1403, LogLevel.Information, "DPoP nonces are required; their key comes from {Source}.", EventName = nameof(NonceKeySelected))]
    public static partial void NonceKeySelected(ILogger logger, string source);
}
