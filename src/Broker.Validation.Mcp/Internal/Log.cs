// Broker.Validation — resource servers honour broker tokens.

using Microsoft.Extensions.Logging;

namespace Broker.Validation.Mcp.Internal;

/// <summary>
/// Log messages of the MCP integration. EventIds 8100–8199; the names are a telemetry contract: never rename.
/// The audit line carries the SHA-256 of the canonical arguments, never the arguments or the token.
/// </summary>
internal static partial class Log
{
    /// <summary>The one audit line per tool call.</summary>
    [LoggerMessage(EventId = 8100, EventName = "McpToolCall", Level = LogLevel.Information, Message = "mcp-audit: tool {Tool} {Outcome}; grant {GrantId}, subject {Subject}, caller {Caller}, tenant {Tenant}, task {TaskId}, arguments sha256 {ArgumentsSha256}.")]
    public static partial void ToolCall(ILogger logger, string tool, string outcome, string grantId, string subject, object caller, string tenant, string taskId, string argumentsSha256);

    [LoggerMessage(EventId = 8101, EventName = "McpRequestRefused", Level = LogLevel.Information, Message = "mcp: a request was refused with HTTP {StatusCode}: {Reason}.")]
    public static partial void RequestRefused(ILogger logger, int statusCode, string reason);

    [LoggerMessage(EventId = 8110, EventName = "BrokerCatalogPublished", Level = LogLevel.Information, Message = "catalog: the tools of {Resource} are published to the broker's catalog.")]
    public static partial void CatalogPublished(ILogger logger, string resource);

    [LoggerMessage(EventId = 8111, EventName = "BrokerCatalogPublishRefused", Level = LogLevel.Error, Message = "catalog: the broker refused to publish the tools of {Resource} (HTTP {StatusCode}); check its policy (publish permission, capabilities and tools of this resource) and the server's declarations. Not retried.")]
    public static partial void CatalogPublishRefused(ILogger logger, string resource, int statusCode);

    [LoggerMessage(EventId = 8112, EventName = "BrokerCatalogPublishRetry", Level = LogLevel.Warning, Message = "catalog: publishing failed ({Reason}); retrying in {Delay}.")]
    public static partial void CatalogPublishRetry(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 8113, EventName = "BrokerCatalogLookupFailed", Level = LogLevel.Warning, Message = "catalog: the broker could not say what a caller may discover ({Reason}); tools/list shows what its token covers.")]
    public static partial void CatalogLookupFailed(ILogger logger, string reason);
}
