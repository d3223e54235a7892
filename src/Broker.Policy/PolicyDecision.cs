namespace Broker.Policy;

/// <summary>The answer of policy: a closed set of outcomes, each carrying the policy version.</summary>
/// <param name="PolicyVersion">The version of the policy that decided (<see cref="PolicySet.Version"/>).</param>
public abstract record PolicyDecision(string PolicyVersion)
{
    /// <summary>Everything requested is allowed.</summary>
    /// <param name="PolicyVersion">The version of the policy that decided.</param>
    /// <param name="Tenant">The subject's tenant.</param>
    /// <param name="Capabilities">The capabilities granted: exactly those requested.</param>
    /// <param name="Audience">The token's audience: the requested resource, else the requested audience.</param>
    /// <param name="Lifetime">The token's lifetime.</param>
    /// <param name="ActorChain">The delegation chain, most recent actor first; empty without delegation.</param>
    public sealed record Allowed(
        string PolicyVersion,
        string Tenant,
        IReadOnlyList<string> Capabilities,
        string Audience,
        TimeSpan Lifetime,
        IReadOnlyList<string> ActorChain) : PolicyDecision(PolicyVersion)
    {
        /// <summary>
        /// The capabilities allowed only by rules that delegate to a decision point, each of which must still permit
        /// (deny by default); empty when policy decided alone.
        /// </summary>
        public IReadOnlyList<DelegatedDecision> Delegated { get; init; } = [];

        /// <summary>The kinds of the chain that caused the request, for the token's <c>caller</c> claim.</summary>
        public CallerKinds Caller { get; init; } = CallerKinds.Workload;

        /// <summary>The tenant's task limits, which the grant store checks when it records the grant; null for none.</summary>
        public TaskLimits? TaskLimits { get; init; }

        /// <summary>
        /// For each forbidden combination the grant touches, the capabilities of it the grant does not carry
        /// (<see cref="Policy.TaskLimits.RemaindersFor"/>): the task's other live grants must not hold all of any of them.
        /// </summary>
        public IReadOnlyList<IReadOnlyList<string>> ForbiddenRemainders { get; init; } = [];

        /// <summary>
        /// When the capabilities are another tenant's, shared with the subject's (docs/sharing.md): the subject's own
        /// tenant, the consumer; <see cref="Tenant"/> is then the owner, whose MCP servers and revocation feed the token
        /// is for. Null for a tenant's own capabilities.
        /// </summary>
        public string? ConsumerTenant { get; init; }
    }

    /// <summary>Denied; <see cref="Reason"/> says why, for the caller and the audit trail.</summary>
    /// <param name="PolicyVersion">The version of the policy that decided.</param>
    /// <param name="Reason">Why.</param>
    /// <param name="Tenant">The subject's tenant, when it was placed in one.</param>
    public sealed record Denied(string PolicyVersion, PolicyDenialReason Reason, string? Tenant) : PolicyDecision(PolicyVersion);
}
