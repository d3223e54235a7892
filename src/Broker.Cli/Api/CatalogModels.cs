namespace Broker.Cli.Api;

/// <summary>The answer to <c>GET /catalog/v1/capabilities</c>.</summary>
internal sealed class CatalogView
{
    public string Tenant { get; init; } = "";

    public string? Publishing { get; init; }

    public string? Discovery { get; init; }

    public IReadOnlyList<DiscoveredCapability> Capabilities { get; init; } = [];
}

internal sealed class DiscoveredCapability
{
    public string Name { get; init; } = "";

    public string? Resource { get; init; }

    public string? Audience { get; init; }

    public bool Executable { get; init; }

    public string? Reason { get; init; }

    public IReadOnlyList<string>? Purposes { get; init; }

    public bool Published { get; init; }

    public long? Version { get; init; }

    public IReadOnlyList<CatalogTool> Tools { get; init; } = [];
}

/// <summary>A tool as the catalog lists it.</summary>
internal sealed class CatalogTool
{
    public string Name { get; init; } = "";

    public string? Capability { get; init; }

    public string? Title { get; init; }

    public string? Description { get; init; }

    public string? InputSchemaSha256 { get; init; }
}

/// <summary>A resource's publication (<c>GET</c> and <c>PUT /catalog/v1/resources</c>).</summary>
internal sealed class Publication
{
    public string Tenant { get; init; } = "";

    public string Resource { get; init; } = "";

    public long Version { get; init; }

    public string? PublishedBy { get; init; }

    public DateTimeOffset? PublishedAt { get; init; }

    public string? PolicyVersion { get; init; }

    public IReadOnlyList<CatalogTool> Tools { get; init; } = [];

    public CatalogChanges? Changes { get; init; }
}

internal sealed class CatalogChanges
{
    public IReadOnlyList<string> ToolsAdded { get; init; } = [];

    public IReadOnlyList<string> ToolsRemoved { get; init; } = [];

    public IReadOnlyList<string> ToolsChanged { get; init; } = [];

    public IReadOnlyList<string> Withdrawn { get; init; } = [];
}

/// <summary>The answer to <c>DELETE /catalog/v1/resources</c>.</summary>
internal sealed class Unpublished
{
    public string Resource { get; init; } = "";

    public long Version { get; init; }

    public IReadOnlyList<string> Withdrawn { get; init; } = [];
}
