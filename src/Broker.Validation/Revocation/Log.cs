// Broker.Validation — resource servers honour broker tokens.

using Microsoft.Extensions.Logging;

namespace Broker.Validation.Revocation;

/// <summary>
/// Log messages of the revocation feed client (EventIds 8050–8069) and the status list client (8070–8089), together
/// Broker.Validation.Revocation's 8050–8099; the names are a telemetry contract: never rename. The workload credential is never logged.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 8050, EventName = "BrokerRevocationFeedConnected", Level = LogLevel.Information, Message = "revocation-feed: connected to {Endpoint} (resuming after {LastEventId}).")]
    public static partial void Connected(ILogger logger, Uri endpoint, string? lastEventId);

    [LoggerMessage(EventId = 8051, EventName = "BrokerRevocationFeedDisconnected", Level = LogLevel.Warning, Message = "revocation-feed: disconnected from {Endpoint}: {Reason}; reconnecting in {Delay}.")]
    public static partial void Disconnected(ILogger logger, Uri? endpoint, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 8052, EventName = "BrokerRevocationFeedRefused", Level = LogLevel.Warning, Message = "revocation-feed: {Endpoint} answered HTTP {StatusCode}; retrying in {Delay}.")]
    public static partial void Refused(ILogger logger, Uri endpoint, int statusCode, TimeSpan delay);

    [LoggerMessage(EventId = 8053, EventName = "BrokerRevocationFeedUnavailable", Level = LogLevel.Warning, Message = "revocation-feed: cannot connect: {Reason}; retrying in {Delay}.")]
    public static partial void Unavailable(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 8054, EventName = "BrokerRevocationApplied", Level = LogLevel.Debug, Message = "revocation-feed: grant {GrantId} revoked (event {EventId}).")]
    public static partial void Applied(ILogger logger, string grantId, string? eventId);

    [LoggerMessage(EventId = 8055, EventName = "BrokerRevocationFeedReset", Level = LogLevel.Warning, Message = "revocation-feed: the broker lost history ({Reason}); tokens issued before {Since} are refused until {Until}.")]
    public static partial void Reset(ILogger logger, string reason, DateTimeOffset since, DateTimeOffset until);

    [LoggerMessage(EventId = 8056, EventName = "BrokerRevocationFeedBadEvent", Level = LogLevel.Warning, Message = "revocation-feed: an event of type {EventType} could not be read; tokens issued before now are refused as after a reset.")]
    public static partial void BadEvent(ILogger logger, string eventType);

    [LoggerMessage(EventId = 8057, EventName = "BrokerRevocationSetFull", Level = LogLevel.Error, Message = "revocation-feed: the revoked grant set is full; the revocation source reports itself not current.")]
    public static partial void SetFull(ILogger logger);

    [LoggerMessage(EventId = 8058, EventName = "BrokerCapabilityWithdrawn", Level = LogLevel.Information, Message = "revocation-feed: capability {Capability} was withdrawn from the broker's catalog (event {EventId}); its tokens issued until then are refused.")]
    public static partial void CapabilityWithdrawn(ILogger logger, string capability, string eventId);

    [LoggerMessage(EventId = 8070, EventName = "BrokerStatusListFetched", Level = LogLevel.Debug, Message = "status-list: {Uri} fetched (iat {IssuedAt}); next poll in {Delay}.")]
    public static partial void StatusListFetched(ILogger logger, string uri, DateTimeOffset issuedAt, TimeSpan delay);

    [LoggerMessage(EventId = 8071, EventName = "BrokerStatusListUnavailable", Level = LogLevel.Warning, Message = "status-list: the list could not be used: {Reason}; retrying in {Delay}.")]
    public static partial void StatusListUnavailable(ILogger logger, string reason, TimeSpan delay);
}
