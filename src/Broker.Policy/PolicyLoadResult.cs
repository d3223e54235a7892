namespace Broker.Policy;

/// <summary>A compiled policy, or the reasons there is none.</summary>
/// <param name="Policy">The compiled policy; null when there are errors.</param>
/// <param name="Errors">Every problem found, in file order; empty on success.</param>
public sealed record PolicyLoadResult(PolicySet? Policy, IReadOnlyList<PolicyError> Errors)
{
    /// <summary>True when the directory compiled into <see cref="Policy"/>.</summary>
    public bool Succeeded => Policy is not null && Errors.Count == 0;
}
