// Broker.Validation — resource servers honour broker tokens.

using Microsoft.Extensions.Options;
using ModelContextProtocol.Server;

namespace Broker.Validation.Mcp.Internal;

/// <summary>What each tool needs: its <see cref="RequiresCapabilityAttribute"/>s plus <see cref="BrokerMcpOptions.Tools"/>.</summary>
internal sealed class ToolCapabilities(IOptions<BrokerMcpOptions> options)
{
    /// <summary>The tool's capabilities, sorted; empty when it declares none (then nobody may call it).</summary>
    public IReadOnlyList<string> For(McpServerTool tool)
    {
        ArgumentNullException.ThrowIfNull(tool);
        var required = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var attribute in tool.Metadata.OfType<RequiresCapabilityAttribute>())
        {
            required.Add(attribute.Capability);
        }

        if (options.Value.Tools.TryGetValue(tool.ProtocolTool.Name, out var declared))
        {
            required.UnionWith(declared);
        }

        return [.. required];
    }

    /// <summary>The tool named <paramref name="name"/> in <paramref name="tools"/>, or null.</summary>
    public static McpServerTool? Find(McpServerPrimitiveCollection<McpServerTool>? tools, string name) =>
        tools is not null && tools.TryGetPrimitive(name, out var tool) ? tool : null;

    /// <summary>True when <paramref name="caller"/> holds every capability in <paramref name="required"/> (and there is one).</summary>
    public static bool Covers(BrokerCaller caller, IReadOnlyList<string> required) =>
        required.Count > 0 && required.All(caller.HasCapability);

    /// <summary>Every capability some tool of <paramref name="tools"/> needs.</summary>
    public IEnumerable<string> All(McpServerPrimitiveCollection<McpServerTool>? tools) =>
        (tools ?? []).SelectMany(For).Distinct(StringComparer.Ordinal);
}
