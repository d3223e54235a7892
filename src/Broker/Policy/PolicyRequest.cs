using Broker.Subjects;

namespace Broker.Policy;

/// <summary>The question an exchange puts to policy.</summary>
public sealed record PolicyRequest(
    WorkloadIdentity Subject,
    WorkloadIdentity? Actor,
    IReadOnlyList<string> Capabilities,
    string? Resource,
    string? Audience,
    string Purpose,
    TimeSpan? RequestedLifetime);
