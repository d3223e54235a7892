namespace Broker.Policy;

/// <summary>
/// The one place that says who may discover, execute and publish a capability, and what a caller is shown of it.
/// The broker's catalog (discovery, publishing) and the exchange, and Broker.Validation.Mcp's <c>tools/list</c>, all
/// decide with these functions, so a capability is never listed by one and hidden by the other.
/// </summary>
/// <remarks>
/// The three permissions are separate (a rule grants any of <c>discover</c>, <c>execute</c>, <c>publish</c>): execute
/// does not imply discover, and discover never implies execute. A rule's <c>purposes:</c> restrict execution only;
/// discovering and publishing have no purpose.
/// </remarks>
public static class CatalogAccess
{
    /// <summary>
    /// What <paramref name="subject"/> may do with <paramref name="capability"/> by the rules of
    /// <paramref name="tenant"/>, as a direct caller (no new actor): the permissions of every rule that names the
    /// capability and matches the subject and its claims. Execute counts only from rules that allow
    /// <paramref name="purpose"/> (any purpose when it is null, the allowed purposes then reported) and whose caller
    /// conditions the caller's chain meets, and only when it also meets the capability's own (the exchange's order:
    /// <see cref="PolicyEvaluator"/>, with the same <see cref="CallerConditions.Check"/>).
    /// </summary>
    /// <param name="tenant">The subject's tenant, which declares the capability.</param>
    /// <param name="capability">The capability.</param>
    /// <param name="subject">The validated caller.</param>
    /// <param name="purpose">The purpose the caller would execute for, or null when it has not said.</param>
    /// <param name="caller">
    /// The kinds of the caller's chain (<see cref="PolicyEvaluator.CallerOf"/>); null takes a broker token's own chain,
    /// else a workload calling for itself.
    /// </param>
    /// <returns>
    /// The permissions held, for execute the purposes it is limited to and what may still refuse it at the token
    /// endpoint (<see cref="CapabilityAccess.Conditions"/>), and when caller conditions withheld execute, why.
    /// </returns>
    public static CapabilityAccess Evaluate(TenantPolicy tenant, Capability capability, WorkloadIdentity subject, string? purpose = null, CallerKinds? caller = null)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(capability);
        ArgumentNullException.ThrowIfNull(subject);
        return EvaluateRules(tenant, capability, capability.Name, explicitOnly: false, subject, purpose, caller, tenant.TaskLimits);
    }

    /// <summary>
    /// What <paramref name="subject"/>, a workload of the consuming tenant, may do with a capability another tenant shares
    /// with it (docs/sharing.md): what both sides give. The share in force (the owner offers, the consumer accepts) must
    /// cover the subject, and a rule of the consumer must name the capability <c>owner:capability</c>; the permissions are
    /// those of the share and of the consumer's rules together (discover and execute only: publishing stays with the owner).
    /// The consumer's rules' caller conditions and the owner's capability's own apply as in the exchange; neither
    /// tenant's task limits apply to a shared grant.
    /// </summary>
    /// <param name="consumer">The subject's tenant.</param>
    /// <param name="share">The share in force (<see cref="TenantSharing.Find"/>).</param>
    /// <param name="subject">The validated caller.</param>
    /// <param name="purpose">The purpose the caller would execute for, or null when it has not said.</param>
    /// <param name="caller">The kinds of the caller's chain; null as in <see cref="Evaluate"/>.</param>
    /// <param name="capability">The owner's capability, whose <c>caller:</c> conditions hold whichever rule allows it; null to skip them.</param>
    /// <returns>The permissions held, and for execute the purposes it is limited to and what may still refuse it.</returns>
    public static CapabilityAccess EvaluateShared(TenantPolicy consumer, CapabilityShare share, WorkloadIdentity subject, string? purpose = null, CallerKinds? caller = null, Capability? capability = null)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(share);
        ArgumentNullException.ThrowIfNull(subject);
        if (!share.AllowsSubject(subject))
        {
            return new CapabilityAccess(CapabilityPermissions.None, null);
        }

        var own = EvaluateRules(consumer, capability, TenantSharing.QualifiedName(share.Owner, share.Capability), explicitOnly: true, subject, purpose, caller, taskLimits: null);
        var held = own.Permissions & share.Permissions & (CapabilityPermissions.Discover | CapabilityPermissions.Execute);
        return (held & CapabilityPermissions.Execute) == 0
            ? new CapabilityAccess(held, null) { Denial = own.Denial }
            : own with { Permissions = held };
    }

    private static CapabilityAccess EvaluateRules(
        TenantPolicy tenant, Capability? capability, string name, bool explicitOnly, WorkloadIdentity subject, string? purpose, CallerKinds? caller, TaskLimits? taskLimits)
    {
        caller ??= subject.Grant is { } grant ? PolicyEvaluator.KindsOf(grant) : CallerKinds.Workload;
        IReadOnlyList<string> chain = subject.Grant?.ActorChain ?? [];
        var held = CapabilityPermissions.None;
        SortedSet<string>? purposes = new(StringComparer.Ordinal);
        PolicyDenialReason? denial = null;
        var decidesAlone = false;
        var delegates = false;
        var purposeRequired = false;
        foreach (var rule in tenant.Rules)
        {
            if (!(explicitOnly ? rule.Capabilities?.Contains(name) == true : rule.Covers(name)) || !rule.MatchesSubject(subject)

                // Claim conditions read the presented token; a broker token carries none, so they do not match it
                // (fail closed, as in the exchange).
                || !ClaimCondition.AllSatisfied(rule.Claims, subject.Claims))
            {
                continue;
            }

            held |= rule.Permissions & (CapabilityPermissions.Discover | CapabilityPermissions.Publish);
            if ((rule.Permissions & CapabilityPermissions.Execute) == 0
                || (purpose is not null && rule.Purposes is not null && !rule.Purposes.Contains(purpose)))
            {
                continue;
            }

            // A broker token's chain must be one the rule lets act, then the rule's approval path must take the
            // caller's kinds: the evaluator's checks, on the same chain.
            if ((rule.CheckDelegation(chain, actor: null) ?? rule.Caller?.Check(caller, purpose)) is { } refused)
            {
                denial ??= refused;
                continue;
            }

            purposeRequired |= rule.Caller?.RequirePurpose == true;
            held |= CapabilityPermissions.Execute;
            decidesAlone |= rule.DecisionPoint is null;
            delegates |= rule.DecisionPoint is not null;
            if (rule.Purposes is null)
            {
                purposes = null;
            }
            else
            {
                purposes?.UnionWith(rule.Purposes);
            }
        }

        // The capability's own conditions hold whichever rule allows it; checked once a rule does, as the evaluator does.
        if ((held & CapabilityPermissions.Execute) != 0 && capability?.Caller?.Check(caller, purpose) is { } floor)
        {
            held &= ~CapabilityPermissions.Execute;
            denial = floor;
        }

        if ((held & CapabilityPermissions.Execute) == 0)
        {
            return new CapabilityAccess(held, null) { Denial = denial };
        }

        purposeRequired |= capability?.Caller?.RequirePurpose == true;
        var conditions = ExecutionConditions.None;
        if (purpose is null && purposeRequired)
        {
            conditions |= ExecutionConditions.Purpose;
        }

        if (!decidesAlone && delegates)
        {
            conditions |= ExecutionConditions.DecisionPoint;
        }

        if (taskLimits is { } limits && (limits.MaxGrants is not null || limits.MaxDuration is not null
            || limits.ForbiddenCombinations.Any(c => c.Contains(name))))
        {
            conditions |= ExecutionConditions.TaskLimits;
        }

        return new CapabilityAccess(held, purpose is not null ? null : purposes?.ToArray()) { Conditions = conditions };
    }

    /// <summary>
    /// Whether the publishing requirement of <paramref name="settings"/> lets a capability be executed:
    /// always under <see cref="PublishingMode.Optional"/>, only while published under <see cref="PublishingMode.Required"/>.
    /// </summary>
    /// <param name="settings">The tenant's catalog settings.</param>
    /// <param name="published">Whether the capability's MCP server has published tools under it.</param>
    /// <returns>True when publication does not stand in the way.</returns>
    public static bool PublishingSatisfied(CatalogSettings settings, bool published)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return published || settings.Publishing == PublishingMode.Optional;
    }

    /// <summary>
    /// Whether the caller could obtain a token for the capability now: policy lets it execute, and publication (when
    /// the tenant requires it) is in place.
    /// </summary>
    /// <param name="settings">The tenant's catalog settings.</param>
    /// <param name="access">What policy lets the caller do.</param>
    /// <param name="published">Whether the capability is published.</param>
    /// <returns>True when executable now.</returns>
    public static bool MayExecuteNow(CatalogSettings settings, CapabilityAccess access, bool published) =>
        access.Has(CapabilityPermissions.Execute) && PublishingSatisfied(settings, published);

    /// <summary>
    /// What a caller is shown of a capability (or of a tool under it): nothing unless it may discover it; then listed
    /// as executable when it may execute it, else listed as not executable or hidden, as the tenant's
    /// <see cref="DiscoveryMode"/> says. The broker's discovery endpoint passes "may execute now"; an MCP server passes
    /// "the caller's token carries the capability".
    /// </summary>
    /// <param name="mayDiscover">A rule lets the caller discover the capability.</param>
    /// <param name="mayExecute">The caller can execute it (see above).</param>
    /// <param name="mode">The tenant's discovery mode.</param>
    /// <returns>The listing.</returns>
    public static CatalogVisibility Visibility(bool mayDiscover, bool mayExecute, DiscoveryMode mode) =>
        !mayDiscover ? CatalogVisibility.Hidden
        : mayExecute ? CatalogVisibility.Executable
        : mode == DiscoveryMode.ListUnexecutable ? CatalogVisibility.ListedNotExecutable
        : CatalogVisibility.Hidden;
}

/// <summary>What a caller may do with one capability (<see cref="CatalogAccess.Evaluate"/>).</summary>
/// <param name="Permissions">The permissions held.</param>
/// <param name="Purposes">
/// When execute is held only for some purposes (and no purpose was asked about): those purposes, sorted; null when any
/// purpose will do, or when execute is not held.
/// </param>
public readonly record struct CapabilityAccess(CapabilityPermissions Permissions, IReadOnlyList<string>? Purposes)
{
    /// <summary>
    /// When execute is not held although a rule would give it: the caller condition (<c>caller:</c> of a rule or of the
    /// capability) the caller's chain breaks, the first one met. Null otherwise.
    /// </summary>
    public PolicyDenialReason? Denial { get; init; }

    /// <summary>
    /// When execute is held: what the token endpoint still checks that discovery does not decide (a purpose to declare,
    /// the task's other grants, a decision point). <see cref="ExecutionConditions.None"/> when nothing.
    /// </summary>
    public ExecutionConditions Conditions { get; init; }

    /// <summary>True when every permission of <paramref name="permission"/> is held.</summary>
    public bool Has(CapabilityPermissions permission) => (Permissions & permission) == permission && permission != CapabilityPermissions.None;
}

/// <summary>How a capability or tool is listed to a caller (<see cref="CatalogAccess.Visibility"/>).</summary>
public enum CatalogVisibility
{
    /// <summary>Not listed at all.</summary>
    Hidden = 0,

    /// <summary>Listed, and the caller can execute it.</summary>
    Executable = 1,

    /// <summary>Listed, marked as not executable by this caller now.</summary>
    ListedNotExecutable = 2,
}

/// <summary>
/// What can still refuse a capability that discovery reports executable: each depends on the request or on something
/// discovery does not ask (the task's other grants, an external decision point), so it is named, not decided.
/// </summary>
[Flags]
public enum ExecutionConditions
{
    /// <summary>Nothing: the token endpoint will issue for this caller and capability (policy unchanged).</summary>
    None = 0,

    /// <summary>A <c>caller.require_purpose</c> applies and no purpose was given: the request must declare one.</summary>
    Purpose = 1,

    /// <summary>The tenant's <c>task_limits</c> apply: the task's other grants may refuse it (checked with the grant record).</summary>
    TaskLimits = 2,

    /// <summary>Only rules that delegate to an AuthZEN decision point allow it: that decision point must also permit.</summary>
    DecisionPoint = 4,
}
