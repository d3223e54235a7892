// Broker.Validation — resource servers honour broker tokens.

using Microsoft.Extensions.Logging;

namespace Broker.Validation.Internal;

/// <summary>
/// Log messages of token validation. EventIds 8000–8049 (the revocation clients: 8050–8099); the names are a telemetry contract: never rename.
/// Nothing here logs a token: grants are named by their ID.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 8000, EventName = "BrokerTokenValidated", Level = LogLevel.Debug, Message = "broker-validation: grant {GrantId} of {Subject} (tenant {Tenant}, task {TaskId}) accepted.")]
    public static partial void TokenValidated(ILogger logger, string grantId, string subject, string tenant, string taskId);

    [LoggerMessage(EventId = 8001, EventName = "BrokerTokenRejected", Level = LogLevel.Information, Message = "broker-validation: a token was refused: {Failure}.")]
    public static partial void TokenRejected(ILogger logger, TokenFailure failure);

    [LoggerMessage(EventId = 8002, EventName = "BrokerMetadataFetched", Level = LogLevel.Information, Message = "broker-validation: metadata of {Issuer} loaded with {KeyCount} signing keys.")]
    public static partial void MetadataFetched(ILogger logger, string issuer, int keyCount);

    [LoggerMessage(EventId = 8003, EventName = "BrokerMetadataUnavailable", Level = LogLevel.Warning, Message = "broker-validation: the broker's metadata or keys at {MetadataUri} could not be loaded: {Reason}.")]
    public static partial void MetadataUnavailable(ILogger logger, Uri metadataUri, string reason);

    [LoggerMessage(EventId = 8004, EventName = "BrokerKeyRefreshRateLimited", Level = LogLevel.Debug, Message = "broker-validation: a token names an unknown key; {MetadataUri} was fetched too recently to fetch again.")]
    public static partial void KeyRefreshRateLimited(ILogger logger, Uri metadataUri);

    [LoggerMessage(EventId = 8005, EventName = "BrokerRevokedGrantPresented", Level = LogLevel.Warning, Message = "broker-validation: revoked grant {GrantId} of {Subject} was presented.")]
    public static partial void RevokedGrantPresented(ILogger logger, string grantId, string subject);

    [LoggerMessage(EventId = 8006, EventName = "BrokerRevocationStale", Level = LogLevel.Warning, Message = "broker-validation: the revocation source is not current (as of {CurrentAsOf}); grant {GrantId} was {Decision}.")]
    public static partial void RevocationStale(ILogger logger, DateTimeOffset? currentAsOf, string grantId, string decision);

    [LoggerMessage(EventId = 8007, EventName = "BrokerRevocationUndetermined", Level = LogLevel.Warning, Message = "broker-validation: the revocation source can say nothing about grant {GrantId} (its status names another list, or an index outside it); refused.")]
    public static partial void RevocationUndetermined(ILogger logger, string grantId);

    [LoggerMessage(EventId = 8008, EventName = "BrokerDPoPProofRejected", Level = LogLevel.Information, Message = "broker-validation: the DPoP proof of a DPoP-bound token was refused: {Reason}.")]
    public static partial void DPoPProofRejected(ILogger logger, string reason);
}
