namespace Broker.Policy;

/// <summary>
/// Why policy refused. The broker maps each reason to one entry of its error catalog (the OAuth error, the
/// description the caller reads and the reason code the audit trail keeps); policy itself knows no HTTP.
/// </summary>
public enum PolicyDenialReason
{
    /// <summary>No tenant accepts the identity (or a broker token names a tenant that no longer exists).</summary>
    NoTenant = 0,

    /// <summary>
    /// More than one tenant accepts the identity. The loader refuses policies where two tenants' trust entries can
    /// match one identity; a token that still reaches this (a claim carried as a list whose values satisfy two
    /// tenants' conditions) is refused.
    /// </summary>
    AmbiguousTenant = 1,

    /// <summary>An OIDC issuer rendered a SPIFFE ID of a trust domain its trust entry does not list in <c>spiffe_trust_domains</c>.</summary>
    SpiffeIdNotAllowed = 2,

    /// <summary>A requested capability does not exist in the tenant, or no rule lets the subject execute it for this purpose.</summary>
    ScopeNotAllowed = 3,

    /// <summary>A re-exchange asked for a capability its subject token does not carry.</summary>
    ScopeBeyondSubjectToken = 4,

    /// <summary>A requested capability does not live on the requested resource or audience.</summary>
    TargetMismatch = 5,

    /// <summary>A re-exchange asked for another target than its subject token's audience.</summary>
    TargetBeyondSubjectToken = 6,

    /// <summary>A requested capability needs a proof-of-possession binding the request does not provide.</summary>
    ProofOfPossessionRequired = 7,

    /// <summary>No rule lets the actor act for the subject (or the actor belongs to no tenant).</summary>
    ActorNotAllowed = 8,

    /// <summary>The actor belongs to another tenant than the subject.</summary>
    ActorOtherTenant = 9,

    /// <summary>The delegation chain would be longer than the rule's <c>max_depth</c>.</summary>
    DelegationTooDeep = 10,

    /// <summary>A capability or rule requires a human principal (<c>caller.principal: human</c>) and the subject is a workload.</summary>
    HumanPrincipalRequired = 11,

    /// <summary>A capability or rule requires a workload principal (<c>caller.principal: workload</c>) and the subject is a human.</summary>
    WorkloadPrincipalRequired = 12,

    /// <summary>A capability or rule refuses autonomous callers (<c>caller.autonomous: false</c>) and no human is in the chain.</summary>
    AutonomousCallerRefused = 13,

    /// <summary>The chain has more actors than a capability's or rule's <c>caller.max_actors</c>.</summary>
    CallerChainTooLong = 14,

    /// <summary>An actor of the chain is of a kind a capability's or rule's <c>caller.actor_kinds</c> does not list.</summary>
    ActorKindNotAllowed = 15,

    /// <summary>A capability or rule requires a purpose (<c>caller.require_purpose: true</c>) and the request declares none.</summary>
    PurposeRequired = 16,

    /// <summary>The request alone asks for every capability of one of the tenant's <c>task_limits.forbidden_combinations</c>.</summary>
    ForbiddenCombination = 17,
}
