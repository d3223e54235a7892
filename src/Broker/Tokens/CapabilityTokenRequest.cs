namespace Broker.Tokens;

/// <summary>Everything that goes into one capability token.</summary>
public sealed record CapabilityTokenRequest(
    string GrantId,
    string Subject,
    string ClientId,
    string Audience,
    IReadOnlyList<string> Capabilities,
    string Tenant,
    string TaskId,
    string Purpose,
    IReadOnlyList<string> ActorChain,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string? X509Thumbprint = null);
