namespace Broker.Policy;

/// <summary>Whether a tenant's capabilities must be published before they can be executed (<c>publishing:</c>).</summary>
public enum PublishingMode
{
    /// <summary><c>optional</c> (the default): publishing describes what exists; policy alone decides execution.</summary>
    Optional = 0,

    /// <summary>
    /// <c>required</c>: a capability is executable only while its MCP server has published tools under it. Policy
    /// says who may; the catalog says the capability actually exists.
    /// </summary>
    Required = 1,
}

/// <summary>What a caller is shown of a capability it may discover but not execute (<c>discovery:</c>).</summary>
public enum DiscoveryMode
{
    /// <summary>
    /// <c>list_unexecutable</c> (the default): listed, marked not executable, so an agent can ask for the capability
    /// (MCP step-up) before it calls.
    /// </summary>
    ListUnexecutable = 0,

    /// <summary><c>hide</c>: only what the caller can execute is listed.</summary>
    Hide = 1,
}

/// <summary>A tenant's catalog settings: the top-level <c>publishing:</c> and <c>discovery:</c> keys of its policy.</summary>
/// <param name="Publishing">Whether execution needs publication.</param>
/// <param name="Discovery">Whether discoverable but unexecutable capabilities are listed.</param>
public sealed record CatalogSettings(PublishingMode Publishing, DiscoveryMode Discovery)
{
    /// <summary>The settings of a tenant that declares neither key: publishing optional, unexecutable capabilities listed.</summary>
    public static CatalogSettings Default { get; } = new(PublishingMode.Optional, DiscoveryMode.ListUnexecutable);

    /// <summary>The policy spelling of <paramref name="mode"/>.</summary>
    public static string ToText(PublishingMode mode) => mode == PublishingMode.Required ? "required" : "optional";

    /// <summary>The policy spelling of <paramref name="mode"/>.</summary>
    public static string ToText(DiscoveryMode mode) => mode == DiscoveryMode.Hide ? "hide" : "list_unexecutable";
}
