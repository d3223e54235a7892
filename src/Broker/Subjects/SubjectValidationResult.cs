using Broker.Errors;
using Broker.Policy;

namespace Broker.Subjects;

/// <summary>The outcome of validating a subject or actor token: a closed set.</summary>
internal abstract record SubjectValidationResult
{
    private SubjectValidationResult()
    {
    }

    /// <summary>The token is valid and speaks for <see cref="Identity"/>.</summary>
    internal sealed record Valid(WorkloadIdentity Identity) : SubjectValidationResult;

    /// <summary>The token is refused; <see cref="Reason"/> is safe to show and to audit.</summary>
    internal sealed record Invalid(ErrorDescriptor Reason) : SubjectValidationResult;
}
