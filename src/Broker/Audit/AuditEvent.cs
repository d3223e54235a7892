using System.Text.Json.Serialization;

namespace Broker.Audit;

/// <summary>
/// One entry of the audit trail. Carries identities and decisions, never a token, key or secret:
/// the subject token appears only as its SHA-256.
/// </summary>
internal sealed record AuditEvent
{
    /// <summary>The schema version of this shape (docs/audit.md). A new optional field keeps it; a renamed, removed or retyped one raises it.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>The schema version, <see cref="CurrentSchemaVersion"/> for every event this broker writes.</summary>
    [JsonPropertyOrder(-2)]
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>What happened; one of <see cref="AuditEventTypes"/>.</summary>
    [JsonPropertyOrder(-1)]
    public required string Type { get; init; }

    /// <summary>When it happened; written as RFC 3339 UTC with milliseconds (<c>2026-12-02T01:24:13.123Z</c>) everywhere.</summary>
    [JsonConverter(typeof(AuditTimeConverter))]
    public required DateTimeOffset Time { get; init; }

    /// <summary>Allowed or denied.</summary>
    public required AuditOutcome Outcome { get; init; }

    /// <summary>The OAuth error code returned, when denied.</summary>
    public string? Error { get; init; }

    /// <summary>The precise reason, a stable code from the error catalog (never exception text).</summary>
    public string? Reason { get; init; }

    public string? Tenant { get; init; }

    /// <summary>For a capability shared across tenants: the consuming tenant (the subject's); <see cref="Tenant"/> is the owner.</summary>
    public string? ConsumerTenant { get; init; }

    public string? Subject { get; init; }

    public IReadOnlyList<string> ActorChain { get; init; } = [];

    public IReadOnlyList<string> RequestedCapabilities { get; init; } = [];

    public IReadOnlyList<string> GrantedCapabilities { get; init; } = [];

    public string? Audience { get; init; }

    public string? TaskId { get; init; }

    public string? Purpose { get; init; }

    public string? PolicyVersion { get; init; }

    public string? GrantId { get; init; }

    public string? ClientAddress { get; init; }

    /// <summary>Base64url SHA-256 of the subject token (or jwt-bearer assertion), to correlate without storing the token.</summary>
    public string? SubjectTokenSha256 { get; init; }

    /// <summary>The identity that performed an admin action (or published to the catalog).</summary>
    public string? Actor { get; init; }

    /// <summary>The signing key an admin action concerned (its <c>kid</c>).</summary>
    public string? KeyId { get; init; }
    /// <summary>For <c>catalog.publish</c> and <c>catalog.unpublish</c>: the version written and what changed.</summary>
    public AuditCatalogChange? Catalog { get; init; }
}

/// <summary>What one publish or unpublish changed in a resource's catalog entry (docs/catalog.md).</summary>
/// <param name="Version">The entry's version after the change.</param>
/// <param name="ToolsAdded">Tools published now that were not before.</param>
/// <param name="ToolsRemoved">Tools published before that are not now.</param>
/// <param name="ToolsChanged">Tools whose capability, title, description or input schema hash changed.</param>
/// <param name="Withdrawn">Capabilities no longer published on the resource, announced on the revocation feed.</param>
internal sealed record AuditCatalogChange(
    long Version,
    IReadOnlyList<string> ToolsAdded,
    IReadOnlyList<string> ToolsRemoved,
    IReadOnlyList<string> ToolsChanged,
    IReadOnlyList<string> Withdrawn);

/// <summary>The outcome of an audited decision.</summary>
internal enum AuditOutcome
{
    [JsonStringEnumMemberName("allowed")]
    Allowed = 0,

    [JsonStringEnumMemberName("denied")]
    Denied = 1,
}

/// <summary>Stable audit event type names: a contract with whoever reads the trail.</summary>
internal static class AuditEventTypes
{
    public const string TokenExchange = "token.exchange";
    public const string GrantRevoked = "grant.revoked";
    public const string PolicyReloaded = "policy.reloaded";
    public const string PolicyRejected = "policy.rejected";
    public const string CatalogPublish = "catalog.publish";
    public const string CatalogUnpublish = "catalog.unpublish";
}
