using Broker.Jose;
using Broker.Policy;

namespace Broker.Subjects;

/// <summary>Validates one kind of subject token. Chosen per token by <see cref="SubjectTokenValidator"/>.</summary>
internal interface ISubjectTokenValidator
{
    /// <summary>The kind of identity this validator produces.</summary>
    IdentityKind Kind { get; }

    /// <summary>Validates a token that passed the structural gate (<see cref="CompactJws"/>) but is not yet trusted.</summary>
    ValueTask<SubjectValidationResult> ValidateAsync(CompactJws token, PolicySet policy, CancellationToken cancellationToken);

    /// <summary>True while the key and source that validated <paramref name="identity"/> are still trusted.</summary>
    bool IsStillTrusted(WorkloadIdentity identity, PolicySet policy);
}
