using System.Text.Json.Serialization;

namespace Broker.Catalog;

/// <summary>The body of <c>PUT /catalog/v1/resources</c>.</summary>
internal sealed class PublishRequest
{
    /// <summary>The tools the resource serves.</summary>
    [JsonRequired]
    public List<PublishToolRequest>? Tools { get; set; }
}

/// <summary>One tool of a <see cref="PublishRequest"/>.</summary>
internal sealed class PublishToolRequest
{
    [JsonRequired]
    public string? Name { get; set; }

    [JsonRequired]
    public string? Capability { get; set; }

    public string? Title { get; set; }

    public string? Description { get; set; }

    [JsonRequired]
    public string? InputSchemaSha256 { get; set; }
}

/// <summary>A resource's publication, as <c>GET</c> and <c>PUT /catalog/v1/resources</c> answer.</summary>
internal sealed record PublicationView(
    string Tenant,
    string Resource,
    long Version,
    string PublishedBy,
    DateTimeOffset PublishedAt,
    string PolicyVersion,
    IReadOnlyList<PublishedToolView> Tools,
    ChangesView? Changes);

/// <summary>One published tool.</summary>
internal sealed record PublishedToolView(string Name, string Capability, string? Title, string? Description, string InputSchemaSha256);

/// <summary>What a write changed.</summary>
internal sealed record ChangesView(IReadOnlyList<string> ToolsAdded, IReadOnlyList<string> ToolsRemoved, IReadOnlyList<string> ToolsChanged, IReadOnlyList<string> Withdrawn);

/// <summary>The answer of <c>DELETE /catalog/v1/resources</c>.</summary>
internal sealed record UnpublishView(string Tenant, string Resource, long Version, string Status, IReadOnlyList<string> Withdrawn);

/// <summary>The answer of <c>GET /catalog/v1/capabilities</c>.</summary>
internal sealed record DiscoveryView(
    string Tenant,
    string PolicyVersion,
    string Publishing,
    string Discovery,
    string? Subject,
    IReadOnlyList<DiscoveredCapabilityView> Capabilities);

/// <summary>One capability the caller may discover.</summary>
/// <param name="Name">The capability (a scope value for the token request).</param>
/// <param name="Resource">Its resource, if any.</param>
/// <param name="Audience">Its logical audience, if any.</param>
/// <param name="Executable">Whether the caller could obtain a token for it now.</param>
/// <param name="Reason">
/// Why not, when not executable: <c>not_permitted</c>, <c>not_published</c>, or the caller condition the caller breaks
/// (<c>human_principal_required</c>, <c>workload_principal_required</c>, <c>autonomous_caller</c>,
/// <c>caller_chain_too_long</c>, <c>actor_kind_not_allowed</c>, <c>purpose_required</c>).
/// </param>
/// <param name="Purposes">When execute is limited to some purposes: those.</param>
/// <param name="Conditional">
/// When executable but the token endpoint still checks something discovery does not decide: <c>purpose</c> (one must be
/// declared), <c>task_limits</c> (the task's other grants), <c>decision_point</c> (an AuthZEN PDP must permit).
/// </param>
/// <param name="ProofOfPossession">Tokens for it must be DPoP- or mTLS-bound.</param>
/// <param name="Published">Whether its MCP server has published tools under it.</param>
/// <param name="Version">The resource's catalog version, when published.</param>
/// <param name="Tools">The published tools under it; when unpublished, the tool names policy declares.</param>
/// <param name="SharedBy">For a capability another tenant shares with the caller's (docs/sharing.md): that tenant.</param>
internal sealed record DiscoveredCapabilityView(
    string Name,
    string? Resource,
    string? Audience,
    bool Executable,
    string? Reason,
    IReadOnlyList<string>? Purposes,
    IReadOnlyList<string>? Conditional,
    bool ProofOfPossession,
    bool Published,
    long? Version,
    IReadOnlyList<DiscoveredToolView> Tools,
    string? SharedBy = null);

/// <summary>A tool of a discovered capability.</summary>
internal sealed record DiscoveredToolView(string Name, string? Title, string? Description, string? InputSchemaSha256);

/// <summary>Source-generated JSON for the catalog's bodies (snake_case, nulls left out, unknown or repeated members refused).</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowDuplicateProperties = false,
    MaxDepth = 8)]
[JsonSerializable(typeof(PublishRequest))]
[JsonSerializable(typeof(PublicationView))]
[JsonSerializable(typeof(UnpublishView))]
[JsonSerializable(typeof(DiscoveryView))]
internal sealed partial class CatalogJsonContext : JsonSerializerContext;
