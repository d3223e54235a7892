// Broker.Validation — resource servers honour broker tokens.

using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Policy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Broker.Validation.Mcp.Internal;

/// <summary>
/// The SDK request filters: <c>tools/list</c> shows only what the caller's token covers; <c>tools/call</c> checks
/// the capability again (the HTTP preflight normally answered an uncovered call with 403 already; this check holds
/// when it did not run) and writes the audit line of every call that reaches the SDK.
/// </summary>
internal sealed class BrokerMcpFilterSetup(ToolCapabilities capabilities, ToolCallAudit audit, IServiceProvider services) : IConfigureOptions<McpServerOptions>
{
    // Resolved on first use: the catalog client reads the broker-token options, whose post-configuration reads the
    // server options this class configures.
    private readonly Lazy<BrokerCatalogClient> _catalog = new(services.GetRequiredService<BrokerCatalogClient>);

    /// <summary>The <c>_meta</c> key of a tool listed as not executable by the caller (MCP: <c>prefix/name</c>).</summary>
    public const string AccessMetaKey = "io.broker/access";

    public void Configure(McpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Filters.Request.ListToolsFilters.Add(next => async (context, cancellationToken) =>
        {
            var result = await next(context, cancellationToken);
            var caller = context.User.GetBrokerCaller();

            // With the catalog lookup on, the broker says what this caller may discover here; without it (or when the
            // broker cannot say) the caller sees what its token covers.
            var catalog = _catalog.Value;
            var answer = caller is not null && catalog.ListsDiscoverableTools ? await catalog.LookupAsync(caller.GrantId, caller.ExpiresAt, cancellationToken) : null;
            List<Tool> visible = [];
            foreach (var tool in result.Tools)
            {
                if (caller is null || ToolCapabilities.Find(options.ToolCollection, tool.Name) is not { } registered)
                {
                    continue;
                }

                var required = capabilities.For(registered);
                var covered = ToolCapabilities.Covers(caller, required);
                var listing = answer is null
                    ? (covered ? CatalogVisibility.Executable : CatalogVisibility.Hidden)
                    : CatalogAccess.Visibility(required.Count > 0 && required.All(answer.Discoverable.ContainsKey), covered, answer.Mode);
                if (listing == CatalogVisibility.Executable)
                {
                    visible.Add(tool);
                }
                else if (listing == CatalogVisibility.ListedNotExecutable)
                {
                    visible.Add(MarkNotExecutable(tool, required, required.All(c => answer!.Discoverable.GetValueOrDefault(c))));
                }
            }

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

    /// <summary>
    /// A copy of <paramref name="tool"/> (the SDK's instance is shared by every caller) whose <c>_meta</c> says that this
    /// caller's token does not cover it: the capabilities to ask the broker for (MCP step-up: a call without them is
    /// answered 403 <c>insufficient_scope</c> naming the same scopes), and whether the broker would grant them now.
    /// </summary>
    private static Tool MarkNotExecutable(Tool tool, IReadOnlyList<string> required, bool obtainable)
    {
        var copy = JsonSerializer.Deserialize<Tool>(JsonSerializer.SerializeToElement(tool, McpJsonUtilities.DefaultOptions), McpJsonUtilities.DefaultOptions)!;
        copy.Meta ??= [];
        copy.Meta[AccessMetaKey] = new JsonObject
        {
            ["executable"] = false,
            ["required_scopes"] = new JsonArray([.. required.Select(c => (JsonNode?)JsonValue.Create(c))]),
            ["obtainable"] = obtainable,
        };
        return copy;
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
