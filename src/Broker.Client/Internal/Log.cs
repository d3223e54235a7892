// Broker.Client — the agent side of the Broker.

using System.Net;
using Microsoft.Extensions.Logging;

namespace Broker.Client.Internal;

/// <summary>
/// Log messages of the broker client. EventIds 7000–7099; the names are a telemetry contract: never rename.
/// Nothing here logs a subject, actor or capability token.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 7000, EventName = "BrokerClientExchangeSucceeded", Level = LogLevel.Debug, Message = "broker-client: capability token for '{Scope}' at {Target} issued; it expires in {Lifetime}.")]
    public static partial void ExchangeSucceeded(ILogger logger, string scope, string target, TimeSpan lifetime);

    [LoggerMessage(EventId = 7001, EventName = "BrokerClientExchangeRefused", Level = LogLevel.Warning, Message = "broker-client: the broker refused a capability token for '{Scope}' at {Target}: {Error} (HTTP {StatusCode}).")]
    public static partial void ExchangeRefused(ILogger logger, string scope, string target, string error, int statusCode);

    [LoggerMessage(EventId = 7002, EventName = "BrokerClientExchangeRetrying", Level = LogLevel.Information, Message = "broker-client: the broker is unavailable (HTTP {StatusCode}); retry {Attempt} of {MaxRetries} in {Delay}.")]
    public static partial void ExchangeRetrying(ILogger logger, HttpStatusCode statusCode, int attempt, int maxRetries, TimeSpan delay);

    [LoggerMessage(EventId = 7003, EventName = "BrokerClientTokenRejected", Level = LogLevel.Debug, Message = "broker-client: {Host} answered 401 to a capability token for '{Scope}'; retrying once with a new token.")]
    public static partial void TokenRejected(ILogger logger, string? host, string scope);

    [LoggerMessage(EventId = 7004, EventName = "BrokerClientCacheEvicted", Level = LogLevel.Debug, Message = "broker-client: the token cache is full ({Count} tokens); evicted {Evicted}.")]
    public static partial void CacheEvicted(ILogger logger, int count, int evicted);

    [LoggerMessage(EventId = 7005, EventName = "BrokerClientTokenWithheld", Level = LogLevel.Warning, Message = "broker-client: a request to {Host} was refused: a capability token for {Target} goes only to that resource's origin.")]
    public static partial void TokenWithheld(ILogger logger, string? host, string? target);

    [LoggerMessage(EventId = 7006, EventName = "BrokerClientDPoPNonceRetry", Level = LogLevel.Debug, Message = "broker-client: {Host} asked for a DPoP nonce (use_dpop_nonce); retrying once with it.")]
    public static partial void DPoPNonceRetry(ILogger logger, string? host);

    [LoggerMessage(EventId = 7007, EventName = "BrokerClientBearerFallback", Level = LogLevel.Information, Message = "broker-client: the broker answered a bearer token for '{Scope}' to a DPoP request; it is used as a bearer token.")]
    public static partial void BearerFallback(ILogger logger, string scope);
}
