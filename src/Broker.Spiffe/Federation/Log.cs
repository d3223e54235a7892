// Broker.Spiffe — SPIFFE for .NET.

using Microsoft.Extensions.Logging;

namespace Broker.Spiffe.Federation;

/// <summary>Log messages of federation. EventIds 6200–6299; names are a telemetry contract: never rename.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6200, EventName = "FederationBundleUpdated", Level = LogLevel.Information, Message = "federation: bundle of {TrustDomain} updated (sequence {Sequence}).")]
    public static partial void BundleUpdated(ILogger logger, string trustDomain, long? sequence);

    [LoggerMessage(EventId = 6201, EventName = "FederationFetchFailed", Level = LogLevel.Warning, Message = "federation: fetching the bundle of {TrustDomain} failed; keeping the current one and retrying in {Delay}.")]
    public static partial void FetchFailed(ILogger logger, string trustDomain, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 6202, EventName = "FederationStaleBundleIgnored", Level = LogLevel.Warning, Message = "federation: the bundle of {TrustDomain} has sequence {Received}, older than the current {Current}; ignored.")]
    public static partial void StaleBundleIgnored(ILogger logger, string trustDomain, long received, long current);

    [LoggerMessage(EventId = 6203, EventName = "FederationInitialFetchFailed", Level = LogLevel.Warning, Message = "federation: the first fetch of the bundle of {TrustDomain} failed; starting from the operator-supplied bundle.")]
    public static partial void InitialFetchFailed(ILogger logger, string trustDomain, Exception exception);

    [LoggerMessage(EventId = 6204, EventName = "FederationUpdateHandlerFailed", Level = LogLevel.Error, Message = "federation: an Updated handler threw.")]
    public static partial void UpdateHandlerFailed(ILogger logger, Exception exception);
}
