namespace Broker.Exchange;

/// <summary>Exchange log messages, EventIds 1000-1099. Names are a telemetry contract: never rename.</summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Debug, "Issued grant {GrantId} in tenant {Tenant} to {Subject} for {LifetimeSeconds} s.", EventName = nameof(TokenIssued))]
    public static partial void TokenIssued(ILogger logger, string grantId, string tenant, string subject, long lifetimeSeconds);

    [LoggerMessage(1001, LogLevel.Debug, "Token exchange refused: {Reason}.", EventName = nameof(ExchangeRefused))]
    public static partial void ExchangeRefused(ILogger logger, string reason);

    [LoggerMessage(1002, LogLevel.Debug, "Actor token rejected: {Reason}.", EventName = nameof(ActorRejected))]
    public static partial void ActorRejected(ILogger logger, string reason);

    [LoggerMessage(1003, LogLevel.Error, "Grant {GrantId} could not be recorded; the token was not returned.", EventName = nameof(GrantNotRecorded))]
    public static partial void GrantNotRecorded(ILogger logger, string grantId);

    [LoggerMessage(1004, LogLevel.Error, "Token exchange failed unexpectedly.", EventName = nameof(ExchangeFailed))]
    public static partial void ExchangeFailed(ILogger logger, Exception exception);
}
