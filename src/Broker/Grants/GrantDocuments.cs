using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Broker.Audit;

namespace Broker.Grants;

/// <summary>
/// The former stored form of a grant: compact JSON with one- or two-letter names, times in Unix milliseconds, empty
/// and redundant members left out. The store now writes <see cref="RedisGrantRecordFormat"/> and still reads this
/// form (first byte <c>{</c>) so that records written before an upgrade stay readable and revocable until they
/// expire; after one token lifetime plus retention none are left. The revoke script reads <c>t</c> (tenant),
/// <c>s</c> (subject), <c>k</c> (task) and <c>e</c> (expiry): keep those names in step with
/// <see cref="RedisGrantScripts"/>.
/// </summary>
internal sealed class GrantDocument
{
    [JsonPropertyName("t")] public string Tenant { get; set; } = "";
    [JsonPropertyName("s")] public string Subject { get; set; } = "";

    /// <summary>Omitted when equal to the subject (the common, undelegated case).</summary>
    [JsonPropertyName("c")] public string? ClientId { get; set; }

    /// <summary>Space-separated, current actor first: actor identities (SPIFFE IDs, URIs) contain no spaces.</summary>
    [JsonPropertyName("a")] public string? ActorChain { get; set; }

    /// <summary>Space-separated, as in the token's <c>scope</c> (RFC 6749 §3.3: scope tokens contain no spaces).</summary>
    [JsonPropertyName("p")] public string? Capabilities { get; set; }
    [JsonPropertyName("u")] public string Audience { get; set; } = "";
    [JsonPropertyName("k")] public string TaskId { get; set; } = "";
    [JsonPropertyName("w")] public string Purpose { get; set; } = "";

    /// <summary>Lifetime in ms (expiry minus issuance): six digits instead of a second thirteen-digit time.</summary>
    [JsonPropertyName("l")] public long Lifetime { get; set; }
    [JsonPropertyName("e")] public long ExpiresAt { get; set; }
    [JsonPropertyName("j")] public string? JwkThumbprint { get; set; }
    [JsonPropertyName("x")] public string? X509Thumbprint { get; set; }
    [JsonPropertyName("v")] public string PolicyVersion { get; set; } = "";
    [JsonPropertyName("r")] public string? ParentGrantId { get; set; }

    public static GrantDocument From(GrantRecord grant) => new()
    {
        Tenant = grant.Tenant,
        Subject = grant.Subject,
        ClientId = string.Equals(grant.ClientId, grant.Subject, StringComparison.Ordinal) ? null : grant.ClientId,
        ActorChain = Join(grant.ActorChain),
        Capabilities = Join(grant.Capabilities),
        Audience = grant.Audience,
        TaskId = grant.TaskId,
        Purpose = grant.Purpose,
        Lifetime = grant.ExpiresAt.ToUnixTimeMilliseconds() - grant.IssuedAt.ToUnixTimeMilliseconds(),
        ExpiresAt = grant.ExpiresAt.ToUnixTimeMilliseconds(),
        JwkThumbprint = grant.Binding?.JwkThumbprint,
        X509Thumbprint = grant.Binding?.X509Thumbprint,
        PolicyVersion = grant.PolicyVersion,
        ParentGrantId = grant.ParentGrantId,
    };

    public GrantRecord ToRecord(string id, GrantRevocation? revocation) => new()
    {
        Id = id,
        Tenant = Tenant,
        Subject = Subject,
        ClientId = ClientId ?? Subject,
        ActorChain = Split(ActorChain),
        Capabilities = Split(Capabilities),
        Audience = Audience,
        TaskId = TaskId,
        Purpose = Purpose,
        IssuedAt = DateTimeOffset.FromUnixTimeMilliseconds(ExpiresAt - Lifetime),
        ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(ExpiresAt),
        Binding = JwkThumbprint is null && X509Thumbprint is null ? null : new GrantBinding(JwkThumbprint, X509Thumbprint),
        PolicyVersion = PolicyVersion,
        ParentGrantId = ParentGrantId,
        Status = revocation is null ? GrantStatus.Active : GrantStatus.Revoked,
        Revocation = revocation,
    };

    private static string? Join(IReadOnlyList<string> values)
    {
        if (values.Count == 0)
        {
            return null;
        }

        foreach (var value in values)
        {
            if (value.Length == 0 || value.Contains(' ', StringComparison.Ordinal))
            {
                throw new ArgumentException("Capabilities and actor identities are non-empty and contain no spaces.", nameof(values));
            }
        }

        return string.Join(' ', values);
    }

    private static string[] Split(string? joined) => joined is null ? [] : joined.Split(' ');
}

/// <summary>
/// The stored form of a revocation, written by the revoke script (<c>cjson.encode</c>): when (Unix ms), by whom, why.
/// </summary>
internal sealed class RevocationDocument
{
    [JsonPropertyName("at")] public long RevokedAt { get; set; }
    [JsonPropertyName("by")] public string RevokedBy { get; set; } = "";
    [JsonPropertyName("why")] public string Reason { get; set; } = "";

    public GrantRevocation ToRevocation() => new(DateTimeOffset.FromUnixTimeMilliseconds(RevokedAt), RevokedBy, Reason);
}

/// <summary>A revocation announcement on the pub/sub channel, written by the revoke script.</summary>
internal sealed class RevocationNotice
{
    [JsonPropertyName("p")] public string Position { get; set; } = "";
    [JsonPropertyName("g")] public string GrantId { get; set; } = "";
    [JsonPropertyName("t")] public string Tenant { get; set; } = "";
    [JsonPropertyName("at")] public long RevokedAt { get; set; }

    /// <summary>The revoked token's expiry; absent from announcements made before it was added.</summary>
    [JsonPropertyName("e")] public long? ExpiresAt { get; set; }
}

/// <summary>
/// The stored form of an audit event, compact like <see cref="GrantDocument"/>. The revoke script writes
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
    };

    private static string[]? NullIfEmpty(IReadOnlyList<string> values) => values.Count == 0 ? null : [.. values];
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault)]
[JsonSerializable(typeof(GrantDocument))]
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
