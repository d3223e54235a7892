using Broker.Errors;
using Broker.Policy;

namespace Broker.Tests.Errors;

public sealed class PolicyDenialsTests
{
    private static readonly (PolicyDenialReason Reason, string Code)[] Table =
    [
        (PolicyDenialReason.NoTenant, "policy.no_tenant"),
        (PolicyDenialReason.AmbiguousTenant, "policy.ambiguous_tenant"),
        (PolicyDenialReason.SpiffeIdNotAllowed, "subject.spiffe_id_not_allowed"),
        (PolicyDenialReason.ScopeNotAllowed, "policy.scope_not_allowed"),
        (PolicyDenialReason.ScopeBeyondSubjectToken, "policy.scope_beyond_subject_token"),
        (PolicyDenialReason.TargetMismatch, "policy.target_mismatch"),
        (PolicyDenialReason.TargetBeyondSubjectToken, "policy.target_beyond_subject_token"),
        (PolicyDenialReason.ProofOfPossessionRequired, "policy.pop_required"),
        (PolicyDenialReason.ActorNotAllowed, "policy.actor_not_allowed"),
        (PolicyDenialReason.ActorOtherTenant, "policy.actor_other_tenant"),
        (PolicyDenialReason.DelegationTooDeep, "policy.delegation_too_deep"),
        (PolicyDenialReason.HumanPrincipalRequired, "policy.human_principal_required"),
        (PolicyDenialReason.WorkloadPrincipalRequired, "policy.workload_principal_required"),
        (PolicyDenialReason.AutonomousCallerRefused, "policy.autonomous_caller"),
        (PolicyDenialReason.CallerChainTooLong, "policy.caller_chain_too_long"),
        (PolicyDenialReason.ActorKindNotAllowed, "policy.actor_kind_not_allowed"),
        (PolicyDenialReason.PurposeRequired, "policy.purpose_required"),
        (PolicyDenialReason.ForbiddenCombination, "task.forbidden_combination"),
    ];

    public static TheoryData<PolicyDenialReason, string> Reasons => [.. Table];

    [Theory]
    [MemberData(nameof(Reasons))]
    public void ToError_EveryReason_IsItsCatalogEntry(PolicyDenialReason reason, string code)
    {
        // Act
        var error = PolicyDenials.ToError(reason);

        // Assert: the very catalog entry, so the caller and the audit trail read what they always did.
        Assert.Equal(code, error.Reason);
        Assert.Contains(typeof(ErrorCatalog).GetFields(), f => ReferenceEquals(f.GetValue(null), error));
    }

    [Fact]
    public void ToError_TheTableCoversEveryReasonPolicyCanGive()
    {
        // Arrange
        var tested = Table.Select(row => row.Reason).ToHashSet();

        // Act + Assert: a reason added to the library needs its catalog entry (and a row above).
        Assert.Equal(Enum.GetValues<PolicyDenialReason>().ToHashSet(), tested);
        Assert.Throws<ArgumentOutOfRangeException>(() => PolicyDenials.ToError((PolicyDenialReason)999));
    }
}
