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
}
