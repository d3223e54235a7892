using Broker.Errors;

namespace Broker.Policy;

/// <summary>The answer of policy: a closed set of outcomes, each carrying the policy version.</summary>
public abstract record PolicyDecision(string PolicyVersion)
{
    /// <summary>Everything requested is allowed.</summary>
    public sealed record Allowed(
        string PolicyVersion,
        string Tenant,
        IReadOnlyList<string> Capabilities,
        string Audience,
        TimeSpan Lifetime,
        IReadOnlyList<string> ActorChain) : PolicyDecision(PolicyVersion);

    /// <summary>Denied; <see cref="Reason"/> says why, for the caller and the audit trail.</summary>
    public sealed record Denied(string PolicyVersion, ErrorDescriptor Reason, string? Tenant) : PolicyDecision(PolicyVersion);
}
