using System.Collections.Frozen;

namespace Broker.Policy;

/// <summary>One allow rule. There are no deny rules: anything no rule allows is denied.</summary>
public sealed class PolicyRule
{
    /// <summary>The rule's name (<c>name:</c>, else its line), for logs.</summary>
    public required string Name { get; init; }

    /// <summary>Where the rule is written: its file relative to the policy directory and line (<c>acme.yaml:42</c>); empty when built in code.</summary>
    public string Source { get; init; } = "";

    /// <summary>Who the rule is for; matched from any source that placed the identity in the tenant.</summary>
    public required IReadOnlyList<SubjectPattern> Subjects { get; init; }

    /// <summary>Conditions on the presented token's claims; all must hold.</summary>
    public required IReadOnlyList<ClaimCondition> Claims { get; init; }

    /// <summary>Capability names; null means every capability of the tenant.</summary>
    public required FrozenSet<string>? Capabilities { get; init; }

    /// <summary>What the rule allows.</summary>
    public required CapabilityPermissions Permissions { get; init; }

    /// <summary>Allowed purposes; null means any purpose.</summary>
    public required FrozenSet<string>? Purposes { get; init; }

    /// <summary>Who may act for the subjects; null means no delegation under this rule.</summary>
    public DelegationRule? Delegation { get; init; }

    /// <summary>
    /// The name of a decision point of the tenant (<see cref="TenantPolicy.DecisionPoints"/>) that must also permit what
    /// this rule allows to execute; null when the rule decides alone.
    /// </summary>
    public string? DecisionPoint { get; init; }

    /// <summary>Conditions on the chain that caused the request (<c>caller:</c>); the rule allows nothing to a chain that breaks one. Null for none.</summary>
    public CallerConditions? Caller { get; init; }

    /// <summary>True when the rule names <paramref name="capability"/> (or every capability).</summary>
    /// <param name="capability">A capability name.</param>
    /// <returns>True when covered.</returns>
    public bool Covers(string capability) => Capabilities is null || Capabilities.Contains(capability);

    /// <summary>
    /// Null when the rule lets <paramref name="chain"/> act for its subjects: no chain, or a delegation that allows the
    /// current actor within its depth. The exchange and discovery both ask this, so they agree on delegated callers.
    /// </summary>
    /// <param name="chain">The delegation chain, current actor first; empty without delegation.</param>
    /// <param name="actor">
    /// The actor presented with this request, matched with its source; null when the current actor is an earlier link
    /// carried over from a broker token's chain, known by its identity only.
    /// </param>
    /// <returns>Null, <see cref="PolicyDenialReason.ActorNotAllowed"/> or <see cref="PolicyDenialReason.DelegationTooDeep"/>.</returns>
    public PolicyDenialReason? CheckDelegation(IReadOnlyList<string> chain, WorkloadIdentity? actor)
    {
        ArgumentNullException.ThrowIfNull(chain);
        if (chain.Count == 0)
        {
            return null;
        }

        if (Delegation is not { } delegation || !(actor is not null ? delegation.AllowsActor(actor) : delegation.AllowsActor(chain[0])))
        {
            return PolicyDenialReason.ActorNotAllowed;
        }

        return chain.Count > delegation.MaxDepth ? PolicyDenialReason.DelegationTooDeep : null;
    }

    /// <summary>True when a pattern of <see cref="Subjects"/> matches the identity, from any source that placed it in the tenant.</summary>
    /// <param name="subject">The validated subject.</param>
    /// <returns>True when a pattern matches.</returns>
    public bool MatchesSubject(WorkloadIdentity subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        foreach (var pattern in Subjects)
        {
            if (pattern.Matches(subject.Kind, subject.Source, subject.Id, SourceMatching.AnySource))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Delegation under a rule: which actors, and how long the chain may grow.</summary>
/// <param name="Actors">Who may act for the rule's subjects.</param>
/// <param name="MaxDepth">How many actors the <c>act</c> chain may hold (1-8).</param>
public sealed record DelegationRule(IReadOnlyList<SubjectPattern> Actors, int MaxDepth)
{
    /// <summary>An actor named only by its identity (an earlier link of a chain): source-qualified patterns do not match.</summary>
    /// <param name="actor">The actor's workload identity.</param>
    /// <returns>True when a pattern allows it.</returns>
    public bool AllowsActor(string actor) => Actors.Any(p => p.Matches(actor));

    /// <summary>The actor presented with this request, matched with its source.</summary>
    /// <param name="actor">The validated actor.</param>
    /// <returns>True when a pattern allows it.</returns>
    public bool AllowsActor(WorkloadIdentity actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        return Actors.Any(p => p.Matches(actor.Kind, actor.Source, actor.Id, SourceMatching.AnySource));
    }
}
