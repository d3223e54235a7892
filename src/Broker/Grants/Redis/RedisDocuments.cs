using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Broker.Audit;

namespace Broker.Grants.Redis;

/// <summary>
/// The stored form of a revocation, written by the revoke script (<c>cjson.encode</c>): when (Unix ms), by whom, why.
/// Read by <see cref="RedisGrantRecordCodec"/>; every member is required.
/// </summary>
internal sealed class RevocationDocument
{
    [JsonRequired][JsonPropertyName("at")] public long RevokedAt { get; set; }
    [JsonRequired][JsonPropertyName("by")] public string RevokedBy { get; set; } = "";
    [JsonRequired][JsonPropertyName("why")] public string Reason { get; set; } = "";
}

/// <summary>A revocation announcement on the pub/sub channel, written by the revoke script.</summary>
internal sealed class RevocationNotice
{
    [JsonPropertyName("p")] public string Position { get; set; } = "";
    [JsonPropertyName("g")] public string GrantId { get; set; } = "";
    [JsonPropertyName("t")] public string Tenant { get; set; } = "";
    [JsonPropertyName("at")] public long RevokedAt { get; set; }

    /// <summary>The revoked token's expiry (Unix ms); for a withdrawal, when its last token expires.</summary>
    [JsonPropertyName("e")] public long? ExpiresAt { get; set; }

    /// <summary>Set for a capability withdrawn from the catalog (no grant): the capability.</summary>
    [JsonPropertyName("w")] public string? Withdrawn { get; set; }

    /// <summary>With <see cref="Withdrawn"/>: the resource it was published on.</summary>
    [JsonPropertyName("r")] public string? Resource { get; set; }
}

/// <summary>
/// The stored form of an audit event: compact JSON with one- or two-letter names, times in Unix milliseconds, empty
/// members left out. The revoke script writes
/// <c>ty tm t s k g ac r</c> itself: keep those names in step with <see cref="RedisGrantScripts"/>.
/// </summary>
internal sealed class AuditDocument
{
    [JsonPropertyName("ty")] public string Type { get; set; } = "";
    [JsonPropertyName("tm")] public long Time { get; set; }
    [JsonPropertyName("o")] public int Outcome { get; set; }
    [JsonPropertyName("er")] public string? Error { get; set; }
    [JsonPropertyName("r")] public string? Reason { get; set; }
    [JsonPropertyName("t")] public string? Tenant { get; set; }
    [JsonPropertyName("s")] public string? Subject { get; set; }
    [JsonPropertyName("a")] public string[]? ActorChain { get; set; }
    [JsonPropertyName("rq")] public string[]? RequestedCapabilities { get; set; }
    [JsonPropertyName("gr")] public string[]? GrantedCapabilities { get; set; }
    [JsonPropertyName("u")] public string? Audience { get; set; }
    [JsonPropertyName("k")] public string? TaskId { get; set; }
    [JsonPropertyName("w")] public string? Purpose { get; set; }
    [JsonPropertyName("v")] public string? PolicyVersion { get; set; }
    [JsonPropertyName("g")] public string? GrantId { get; set; }
    [JsonPropertyName("ip")] public string? ClientAddress { get; set; }
    [JsonPropertyName("h")] public string? SubjectTokenSha256 { get; set; }
    [JsonPropertyName("ac")] public string? Actor { get; set; }
    [JsonPropertyName("kid")] public string? KeyId { get; set; }
    [JsonPropertyName("cg")] public CatalogChangeDocument? Catalog { get; set; }
    [JsonPropertyName("ct")] public string? ConsumerTenant { get; set; }

    public static AuditDocument From(AuditEvent e) => new()
    {
        Type = e.Type,
        Time = e.Time.ToUnixTimeMilliseconds(),
        Outcome = (int)e.Outcome,
        Error = e.Error,
        Reason = e.Reason,
        Tenant = e.Tenant,
        Subject = e.Subject,
        ActorChain = NullIfEmpty(e.ActorChain),
        RequestedCapabilities = NullIfEmpty(e.RequestedCapabilities),
        GrantedCapabilities = NullIfEmpty(e.GrantedCapabilities),
        Audience = e.Audience,
        TaskId = e.TaskId,
        Purpose = e.Purpose,
        PolicyVersion = e.PolicyVersion,
        GrantId = e.GrantId,
        ClientAddress = e.ClientAddress,
        SubjectTokenSha256 = e.SubjectTokenSha256,
        Actor = e.Actor,
        KeyId = e.KeyId,
        ConsumerTenant = e.ConsumerTenant,
        Catalog = e.Catalog is { } c ? new CatalogChangeDocument
        {
            Version = c.Version,
            Added = NullIfEmpty(c.ToolsAdded),
            Removed = NullIfEmpty(c.ToolsRemoved),
            Changed = NullIfEmpty(c.ToolsChanged),
            Withdrawn = NullIfEmpty(c.Withdrawn),
        } : null,
    };

    public AuditEvent ToEvent() => new()
    {
        Type = Type,
        Time = DateTimeOffset.FromUnixTimeMilliseconds(Time),
        Outcome = (AuditOutcome)Outcome,
        Error = Error,
        Reason = Reason,
        Tenant = Tenant,
        Subject = Subject,
        ActorChain = ActorChain ?? [],
        RequestedCapabilities = RequestedCapabilities ?? [],
        GrantedCapabilities = GrantedCapabilities ?? [],
        Audience = Audience,
        TaskId = TaskId,
        Purpose = Purpose,
        PolicyVersion = PolicyVersion,
        GrantId = GrantId,
        ClientAddress = ClientAddress,
        SubjectTokenSha256 = SubjectTokenSha256,
        Actor = Actor,
        KeyId = KeyId,
        ConsumerTenant = ConsumerTenant,
        Catalog = Catalog is { } c ? new AuditCatalogChange(c.Version, c.Added ?? [], c.Removed ?? [], c.Changed ?? [], c.Withdrawn ?? []) : null,
    };

    private static string[]? NullIfEmpty(IReadOnlyList<string> values) => values.Count == 0 ? null : [.. values];
}

/// <summary>The stored form of <see cref="AuditCatalogChange"/>.</summary>
internal sealed class CatalogChangeDocument
{
    [JsonPropertyName("v")] public long Version { get; set; }
    [JsonPropertyName("a")] public string[]? Added { get; set; }
    [JsonPropertyName("d")] public string[]? Removed { get; set; }
    [JsonPropertyName("c")] public string[]? Changed { get; set; }
    [JsonPropertyName("w")] public string[]? Withdrawn { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault)]
[JsonSerializable(typeof(RevocationDocument))]
[JsonSerializable(typeof(RevocationNotice))]
[JsonSerializable(typeof(AuditDocument))]
internal sealed partial class GrantsJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The context the store uses. Relaxed escaping: these documents never reach HTML, and escaping every
    /// <c>+</c> or non-ASCII letter as <c>\uXXXX</c> would cost memory for nothing.
    /// </summary>
    public static GrantsJsonContext Compact { get; } = new(new JsonSerializerOptions
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
