// Broker.Validation — resource servers honour broker tokens.

using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Server;

namespace Broker.Validation.Mcp.Internal;

/// <summary>
/// The SDK request filters: <c>tools/list</c> shows only what the caller's token covers; <c>tools/call</c> checks
/// the capability again (the HTTP preflight normally answered an uncovered call with 403 already; this check holds
/// when it did not run) and writes the audit line of every call that reaches the SDK.
/// </summary>
internal sealed class BrokerMcpFilterSetup(ToolCapabilities capabilities, ToolCallAudit audit) : IConfigureOptions<McpServerOptions>
{
    public void Configure(McpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Filters.Request.ListToolsFilters.Add(next => async (context, cancellationToken) =>
        {
            var result = await next(context, cancellationToken);
            var caller = context.User.GetBrokerCaller();
            var visible = result.Tools.Where(tool => caller is not null && ToolCapabilities.Find(options.ToolCollection, tool.Name) is { } registered
                && ToolCapabilities.Covers(caller, capabilities.For(registered))).ToList();
            result.Tools = visible;
            return result;
        });

        options.Filters.Request.CallToolFilters.Add(next => async (context, cancellationToken) =>
        {
            var name = context.Params?.Name ?? "";
            var caller = context.User.GetBrokerCaller();
            var outcome = ToolCallOutcomes.Failed;
            try
            {
                if (caller is null)
                {
                    outcome = ToolCallOutcomes.Unauthenticated;
                    throw new McpProtocolException("This server accepts broker tokens only.", McpErrorCode.InvalidRequest);
                }

                var tool = context.MatchedPrimitive as McpServerTool ?? ToolCapabilities.Find(options.ToolCollection, name);
                if (tool is not null && !ToolCapabilities.Covers(caller, capabilities.For(tool)))
                {
                    outcome = ToolCallOutcomes.InsufficientScope;
                    throw new McpProtocolException("The token lacks capabilities this tool needs.", McpErrorCode.InvalidRequest);
                }

                var result = await next(context, cancellationToken);
                outcome = result.IsError == true ? ToolCallOutcomes.Failed : ToolCallOutcomes.Succeeded;
                return result;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                outcome = ToolCallOutcomes.Cancelled;
                throw;
            }
            finally
            {
                audit.Write(name, outcome, caller, CanonicalJson.Sha256(context.Params?.Arguments));
            }
        });
    }
}

/// <summary>Deny by default, checked at start: a tool that names no capability could be called by anyone with a token.</summary>
internal sealed class BrokerMcpToolValidator(ToolCapabilities capabilities) : IValidateOptions<McpServerOptions>
{
    public ValidateOptionsResult Validate(string? name, McpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var undeclared = (options.ToolCollection ?? []).Where(t => capabilities.For(t).Count == 0).Select(t => t.ProtocolTool.Name).ToList();
        return undeclared.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"MCP tools without a broker capability: {string.Join(", ", undeclared)}. Add [RequiresCapability(\"…\")] or BrokerMcpOptions.RequireCapability(tool, …).");
    }
}

/// <summary>Fills the protected resource metadata's <c>scopes_supported</c> with the tools' capabilities when the application set none.</summary>
internal sealed class BrokerMcpScopesSetup(IOptions<BrokerMcpOptions> mcp, IOptions<McpServerOptions> server, ToolCapabilities capabilities) : IPostConfigureOptions<BrokerTokenOptions>
{
    public void PostConfigure(string? name, BrokerTokenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (name == mcp.Value.AuthenticationScheme && options.ScopesSupported.Count == 0)
        {
            foreach (var capability in capabilities.All(server.Value.ToolCollection).Order(StringComparer.Ordinal))
            {
                options.ScopesSupported.Add(capability);
            }
        }
    }
}
