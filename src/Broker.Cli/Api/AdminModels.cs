using System.Text.Json;

namespace Broker.Cli.Api;

/// <summary>A grant as <c>GET /admin/v1/grants/{grant_id}</c> returns it.</summary>
internal sealed class Grant
{
    public string GrantId { get; init; } = "";

    public string Tenant { get; init; } = "";

    public string Subject { get; init; } = "";

    public string? ClientId { get; init; }

    public IReadOnlyList<string> ActorChain { get; init; } = [];

    public IReadOnlyList<string> Capabilities { get; init; } = [];

    public string? Audience { get; init; }

    public string? TaskId { get; init; }

    public string? Purpose { get; init; }

    public DateTimeOffset? IssuedAt { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    public string? PolicyVersion { get; init; }

    public string? ParentGrantId { get; init; }

    /// <summary>For a capability shared across tenants: the consuming tenant (the subject's own).</summary>
    public string? ConsumerTenant { get; init; }

    /// <summary>Proof-of-possession binding (<c>cnf</c>); shown as JSON, its shape is the broker's business.</summary>
    public JsonElement? Binding { get; init; }

    public string Status { get; init; } = "";

    public Revocation? Revocation { get; init; }
}

internal sealed class Revocation
{
    public DateTimeOffset? RevokedAt { get; init; }

    public string? RevokedBy { get; init; }

    public string? Reason { get; init; }
}

/// <summary>One page of <c>GET /admin/v1/grants</c>.</summary>
internal sealed class GrantPage
{
    public IReadOnlyList<Grant> Grants { get; init; } = [];

    public string? NextCursor { get; init; }
}

/// <summary>The answer to <c>POST /admin/v1/grants/{grant_id}/revoke</c>.</summary>
internal sealed class RevokeResult
{
    public string GrantId { get; init; } = "";

    /// <summary><c>revoked</c> or <c>already_revoked</c>.</summary>
    public string Result { get; init; } = "";

    public DateTimeOffset? RevokedAt { get; init; }
}

/// <summary>The answer to <c>POST /admin/v1/grants/revoke</c>.</summary>
internal sealed class BulkRevokeResult
{
    public int Revoked { get; init; }
}

/// <summary>
/// <c>GET /admin/v1/audit</c>. Events stay raw JSON: <c>--follow</c> tells them apart by their full
/// text and <c>--json</c> prints them exactly as received.
/// </summary>
internal sealed class AuditPage
{
    public IReadOnlyList<JsonElement> Events { get; init; } = [];
}

/// <summary>The fields of an audit event the table shows; the broker sends more.</summary>
internal sealed class AuditEvent
{
    public string Type { get; init; } = "";

    public DateTimeOffset? Time { get; init; }

    public string Outcome { get; init; } = "";

    public string? Error { get; init; }

    public string? Reason { get; init; }

    public string? Tenant { get; init; }

    public string? Subject { get; init; }

    public string? Actor { get; init; }

    public string? GrantId { get; init; }
}

/// <summary>The admin API's error body: <c>{"error": "...", "error_description": "..."}</c>.</summary>
internal sealed class ApiError
{
    public string? Error { get; init; }

    public string? ErrorDescription { get; init; }
}

internal sealed record RevokeRequest(string Reason);

internal sealed record BulkRevokeRequest(string Tenant, string? Subject, string? TaskId, string Reason)
{
    /// <summary>The owner's filter: only grants shared with this consuming tenant.</summary>
    public string? ConsumerTenant { get; init; }

    /// <summary>The consumer's scope: its grants of what this owning tenant shares with it.</summary>
    public string? SharedBy { get; init; }
}

/// <summary><c>GET /admin/v1/keys</c>: the key ring.</summary>
internal sealed class KeyList
{
    /// <summary><c>redis</c> or <c>files</c>.</summary>
    public string Store { get; init; } = "";

    public IReadOnlyList<SigningKeyView> Keys { get; init; } = [];
}

/// <summary>One key of the ring.</summary>
internal sealed class SigningKeyView
{
    public string Kid { get; init; } = "";

    /// <summary><c>next</c>, <c>active</c> or <c>retired</c>.</summary>
    public string State { get; init; } = "";

    public string Origin { get; init; } = "";

    public DateTimeOffset? CreatedAt { get; init; }

    public DateTimeOffset? ActivatesAt { get; init; }

    public DateTimeOffset? RetiredAt { get; init; }

    public DateTimeOffset? RemoveAt { get; init; }
}

/// <summary>The answer to <c>POST /admin/v1/keys/rotate</c>.</summary>
internal sealed class KeyRotation
{
    public string Kid { get; init; } = "";

    public DateTimeOffset? ActivatesAt { get; init; }

    public string? PreviousKid { get; init; }

    public DateTimeOffset? PreviousRemoveAt { get; init; }
}

/// <summary>The answer to <c>POST /admin/v1/keys/{kid}/retire</c>.</summary>
internal sealed class KeyRetirement
{
    public string Kid { get; init; } = "";

    /// <summary><c>retired</c> or <c>already_retired</c>.</summary>
    public string Result { get; init; } = "";

    public DateTimeOffset? RetiredAt { get; init; }

    public DateTimeOffset? RemoveAt { get; init; }
}
