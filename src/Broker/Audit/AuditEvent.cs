namespace Broker.Audit;

/// <summary>
/// One entry of the audit trail. Carries identities and decisions, never a token, key or secret:
/// the subject token appears only as its SHA-256.
/// </summary>
public sealed record AuditEvent
{
    /// <summary>What happened; one of <see cref="AuditEventTypes"/>.</summary>
    public required string Type { get; init; }

    /// <summary>When it happened.</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>Allowed or denied.</summary>
    public required AuditOutcome Outcome { get; init; }

    /// <summary>The OAuth error code returned, when denied.</summary>
    public string? Error { get; init; }

    /// <summary>The precise reason, a stable code from the error catalog (never exception text).</summary>
    public string? Reason { get; init; }

    public string? Tenant { get; init; }

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

    /// <summary>The identity that performed an admin action.</summary>
    public string? Actor { get; init; }
}

/// <summary>The outcome of an audited decision.</summary>
public enum AuditOutcome
{
    [System.Text.Json.Serialization.JsonStringEnumMemberName("allowed")]
    Allowed = 0,

    [System.Text.Json.Serialization.JsonStringEnumMemberName("denied")]
    Denied = 1,
}

/// <summary>Stable audit event type names: a contract with whoever reads the trail.</summary>
public static class AuditEventTypes
{
    public const string TokenExchange = "token.exchange";
    public const string GrantRevoked = "grant.revoked";
    public const string PolicyReloaded = "policy.reloaded";
    public const string PolicyRejected = "policy.rejected";
}
