using Broker.Policy;

namespace Broker.Errors;

/// <summary>What the caller and the audit trail are told for each reason policy gives for a denial.</summary>
internal static class PolicyDenials
{
    public static ErrorDescriptor ToError(PolicyDenialReason reason) => reason switch
    {
        PolicyDenialReason.NoTenant => ErrorCatalog.NoTenant,
        PolicyDenialReason.AmbiguousTenant => ErrorCatalog.AmbiguousTenant,
        PolicyDenialReason.SpiffeIdNotAllowed => ErrorCatalog.SubjectSpiffeIdNotAllowed,
        PolicyDenialReason.ScopeNotAllowed => ErrorCatalog.ScopeNotAllowed,
        PolicyDenialReason.ScopeBeyondSubjectToken => ErrorCatalog.ScopeBeyondSubjectToken,
        PolicyDenialReason.TargetMismatch => ErrorCatalog.TargetMismatch,
        PolicyDenialReason.TargetBeyondSubjectToken => ErrorCatalog.TargetBeyondSubjectToken,
        PolicyDenialReason.ProofOfPossessionRequired => ErrorCatalog.ProofOfPossessionRequired,
        PolicyDenialReason.ActorNotAllowed => ErrorCatalog.ActorNotAllowed,
        PolicyDenialReason.ActorOtherTenant => ErrorCatalog.ActorOtherTenant,
        PolicyDenialReason.DelegationTooDeep => ErrorCatalog.DelegationTooDeep,
        PolicyDenialReason.HumanPrincipalRequired => ErrorCatalog.HumanPrincipalRequired,
        PolicyDenialReason.WorkloadPrincipalRequired => ErrorCatalog.WorkloadPrincipalRequired,
        PolicyDenialReason.AutonomousCallerRefused => ErrorCatalog.AutonomousCallerRefused,
        PolicyDenialReason.CallerChainTooLong => ErrorCatalog.CallerChainTooLong,
        PolicyDenialReason.ActorKindNotAllowed => ErrorCatalog.ActorKindNotAllowed,
        PolicyDenialReason.PurposeRequired => ErrorCatalog.PurposeRequired,
        PolicyDenialReason.ForbiddenCombination => ErrorCatalog.ForbiddenCombination,

        // A reason added to the library without an entry here is a bug; refuse rather than guess.
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "A policy denial reason without an error catalog entry."),
    };
}
