using Broker.Policy;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Subjects;

/// <summary>Validates one kind of subject token. Chosen per token by <see cref="SubjectTokenValidator"/>.</summary>
internal interface ISubjectTokenValidator
{
    /// <summary>The kind of identity this validator produces.</summary>
    IdentityKind Kind { get; }

    /// <summary>Validates a token already parsed (not yet trusted) and whose <c>alg</c> is allow-listed.</summary>
    ValueTask<SubjectValidationResult> ValidateAsync(string token, JsonWebToken parsed, PolicySet policy, CancellationToken cancellationToken);

    /// <summary>True while the key and source that validated <paramref name="identity"/> are still trusted.</summary>
    bool IsStillTrusted(WorkloadIdentity identity, PolicySet policy);
}
