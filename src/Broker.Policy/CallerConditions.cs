namespace Broker.Policy;

/// <summary>
/// Conditions on the chain that caused a request (<c>caller:</c>), on a capability (every exchange of it must meet
/// them, whichever rule allows it) or on a rule (the rule allows only callers that meet them, so one capability can
/// have different approval paths for human-driven and autonomous callers). All set conditions must hold.
/// </summary>
public sealed record CallerConditions
{
    /// <summary>The kind the subject must be (<c>principal:</c>); null for either.</summary>
    public PrincipalKind? Principal { get; init; }

    /// <summary>False (<c>autonomous: false</c>) refuses a chain without any human in it.</summary>
    public bool AllowAutonomous { get; init; } = true;

    /// <summary>At most this many actors (<c>max_actors:</c>, 0 to 8; 0: no delegation); null for no limit of its own.</summary>
    public int? MaxActors { get; init; }

    /// <summary>The kinds the actors may be (<c>actor_kinds:</c>); null for any.</summary>
    public IReadOnlySet<PrincipalKind>? ActorKinds { get; init; }

    /// <summary>True (<c>require_purpose: true</c>) refuses a request that declares no purpose (a jwt-bearer grant without one).</summary>
    public bool RequirePurpose { get; init; }

    /// <summary>
    /// Null when the chain and purpose meet every condition; otherwise the first one they break. The one check of caller
    /// conditions: the exchange (<see cref="PolicyEvaluator"/>) and discovery (<see cref="CatalogAccess"/>) both call it.
    /// </summary>
    /// <param name="caller">The kinds of the chain that caused the request.</param>
    /// <param name="purpose">
    /// The request's purpose (<see cref="Grammar.NoPurpose"/> when it declared none); null when it is not known yet
    /// (discovery without <c>purpose=</c>), which skips <see cref="RequirePurpose"/>: the caller can still declare one.
    /// </param>
    /// <returns>Null, or why not.</returns>
    public PolicyDenialReason? Check(CallerKinds caller, string? purpose)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (RequirePurpose && purpose is not null && string.Equals(purpose, Grammar.NoPurpose, StringComparison.Ordinal))
        {
            return PolicyDenialReason.PurposeRequired;
        }

        if (Principal is { } principal && caller.Subject != principal)
        {
            return principal == PrincipalKind.Human ? PolicyDenialReason.HumanPrincipalRequired : PolicyDenialReason.WorkloadPrincipalRequired;
        }

        if (!AllowAutonomous && caller.IsAutonomous)
        {
            return PolicyDenialReason.AutonomousCallerRefused;
        }

        if (MaxActors is { } max && caller.Actors.Count > max)
        {
            return PolicyDenialReason.CallerChainTooLong;
        }

        if (ActorKinds is { } kinds && caller.Actors.Any(a => !kinds.Contains(a)))
        {
            return PolicyDenialReason.ActorKindNotAllowed;
        }

        return null;
    }
}
