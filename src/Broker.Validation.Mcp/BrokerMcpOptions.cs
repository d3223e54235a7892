// Broker.Validation — resource servers honour broker tokens.

namespace Broker.Validation.Mcp;

/// <summary>Broker capabilities for the tools of an MCP server built with the C# MCP SDK.</summary>
public sealed class BrokerMcpOptions
{
    private readonly Dictionary<string, HashSet<string>> _tools = new(StringComparer.Ordinal);

    /// <summary>The broker-token scheme whose <c>resource_metadata</c> the challenges name. Default <c>BrokerToken</c>.</summary>
    public string AuthenticationScheme { get; set; } = BrokerTokenDefaults.AuthenticationScheme;

    /// <summary>
    /// Largest JSON-RPC request body read to check a request before the SDK sees it; larger ones are answered 413.
    /// Default 1 MiB.
    /// </summary>
    public int MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>The capabilities declared here, by tool name (in addition to <see cref="RequiresCapabilityAttribute"/>).</summary>
    public IReadOnlyDictionary<string, HashSet<string>> Tools => _tools;

    /// <summary>Declares that <paramref name="tool"/> needs every one of <paramref name="capabilities"/>.</summary>
    public BrokerMcpOptions RequireCapability(string tool, params string[] capabilities)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tool);
        ArgumentNullException.ThrowIfNull(capabilities);
        if (capabilities.Length == 0 || capabilities.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("Name at least one capability, none of them blank.", nameof(capabilities));
        }

        if (!_tools.TryGetValue(tool, out var set))
        {
            _tools[tool] = set = new HashSet<string>(StringComparer.Ordinal);
        }

        set.UnionWith(capabilities);
        return this;
    }
}
