// Broker.Validation — resource servers honour broker tokens.

using Microsoft.Extensions.Logging;

namespace Broker.Validation.Mcp.Internal;

/// <summary>Outcomes written in the audit line (<c>Outcome</c>); a contract with whoever reads the logs.</summary>
internal static class ToolCallOutcomes
{
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string InsufficientScope = "insufficient_scope";
    public const string Cancelled = "cancelled";
    public const string Unauthenticated = "unauthenticated";
}

/// <summary>Writes the one structured audit line of a tool call.</summary>
internal sealed class ToolCallAudit(ILoggerFactory loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Broker.Validation.Mcp.Audit");

    public void Write(string tool, string outcome, BrokerCaller? caller, string argumentsSha256) =>
        Log.ToolCall(_logger, tool, outcome, caller?.GrantId ?? "-", caller?.Subject ?? "-", (object?)caller?.Context ?? "-", caller?.Tenant ?? "-", caller?.TaskId ?? "-", argumentsSha256);
}
