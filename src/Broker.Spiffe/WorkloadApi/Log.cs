// Broker.Spiffe — SPIFFE for .NET.

using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Broker.Spiffe.WorkloadApi;

/// <summary>
/// Log messages of the Workload API client and sources. EventIds 6000–6199; the names are a telemetry
/// contract: never rename. Nothing here logs a token, key or certificate.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6000, EventName = "WorkloadApiUpdate", Level = LogLevel.Debug, Message = "workloadapi: {Rpc} update received.")]
    public static partial void Update(ILogger logger, string rpc);

    [LoggerMessage(EventId = 6001, EventName = "WorkloadApiMessageDiscarded", Level = LogLevel.Warning, Message = "workloadapi: {Rpc} message discarded: {Reason}")]
    public static partial void MessageDiscarded(ILogger logger, string rpc, string reason);

    [LoggerMessage(EventId = 6002, EventName = "WorkloadApiCallFailedRetrying", Level = LogLevel.Warning, Message = "workloadapi: {Rpc} failed ({StatusCode}: {Detail}); retrying in {Delay}.")]
    public static partial void CallFailedRetrying(ILogger logger, string rpc, StatusCode statusCode, string detail, TimeSpan delay);

    [LoggerMessage(EventId = 6003, EventName = "WorkloadApiCallFailed", Level = LogLevel.Error, Message = "workloadapi: {Rpc} failed ({StatusCode}: {Detail}); not retrying.")]
    public static partial void CallFailedNotRetrying(ILogger logger, string rpc, StatusCode statusCode, string detail);

    [LoggerMessage(EventId = 6004, EventName = "WorkloadApiStreamEnded", Level = LogLevel.Information, Message = "workloadapi: {Rpc} stream closed by the server; reconnecting in {Delay}.")]
    public static partial void StreamEnded(ILogger logger, string rpc, TimeSpan delay);

    [LoggerMessage(EventId = 6005, EventName = "WorkloadApiDuplicateHint", Level = LogLevel.Warning, Message = "workloadapi: {Rpc} returned two SVIDs with the same hint; keeping the first.")]
    public static partial void DuplicateHint(ILogger logger, string rpc);

    [LoggerMessage(EventId = 6100, EventName = "SourceUpdated", Level = LogLevel.Debug, Message = "{Source}: updated.")]
    public static partial void SourceUpdated(ILogger logger, string source);

    [LoggerMessage(EventId = 6101, EventName = "SourceIdentityRevoked", Level = LogLevel.Warning, Message = "{Source}: the Workload API reports no identity; dropping the current SVIDs.")]
    public static partial void SourceIdentityRevoked(ILogger logger, string source);

    [LoggerMessage(EventId = 6102, EventName = "SourceWatchStopped", Level = LogLevel.Error, Message = "{Source}: watch stopped for good; serving nothing until the source is recreated.")]
    public static partial void SourceWatchStopped(ILogger logger, string source, Exception exception);

    [LoggerMessage(EventId = 6103, EventName = "SourceUpdateHandlerFailed", Level = LogLevel.Error, Message = "{Source}: an Updated handler threw.")]
    public static partial void SourceUpdateHandlerFailed(ILogger logger, string source, Exception exception);
}
