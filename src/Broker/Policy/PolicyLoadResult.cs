namespace Broker.Policy;

/// <summary>A compiled policy, or the reasons there is none.</summary>
public sealed record PolicyLoadResult(PolicySet? Policy, IReadOnlyList<PolicyError> Errors)
{
    public bool Succeeded => Policy is not null && Errors.Count == 0;
}
