using System.Text.Json;

namespace Broker.Cli.Api;

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
