using Broker.Errors;
using Broker.Hosting;
using Broker.Policy;
using Broker.Spiffe;
using Broker.Spiffe.Svids;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Subjects;

/// <summary>
/// SPIFFE JWT-SVIDs (JWT-SVID spec §3, via <c>JwtSvid.Validate</c>): signed by a key of the
/// bundle of the trust domain of <c>sub</c>, with an <c>aud</c> that names this broker.
/// </summary>
internal sealed class SpiffeJwtSubjectValidator : ISubjectTokenValidator
{
    private readonly TrustBundleRegistry _bundles;
    private readonly string[] _audiences;
    private readonly JwtSvidValidationOptions _options;

    public SpiffeJwtSubjectValidator(TrustBundleRegistry bundles, IOptions<BrokerOptions> broker, IOptions<SubjectsOptions> subjects, TimeProvider timeProvider)
    {
        _bundles = bundles;
        _audiences = subjects.Value.Audiences.Count > 0 ? [.. subjects.Value.Audiences] : [broker.Value.Issuer!];
        _options = new JwtSvidValidationOptions
        {
            MaxTokenLength = subjects.Value.MaxTokenLength,
            ClockSkew = subjects.Value.ClockSkew,
            TimeProvider = timeProvider,
        };
    }

    public IdentityKind Kind => IdentityKind.SpiffeJwt;

    public ValueTask<SubjectValidationResult> ValidateAsync(string token, JsonWebToken parsed, PolicySet policy, CancellationToken cancellationToken)
    {
        var result = JwtSvid.Validate(token, _bundles, _audiences, _options);
        if (!result.TryGetSvid(out var svid))
        {
            var error = ((JwtSvidValidationFailure)result).Error;
            return ValueTask.FromResult<SubjectValidationResult>(new SubjectValidationResult.Invalid(Describe(error)));
        }

        // A delegation chain is only meaningful in tokens we issued; anyone else's is a forgery attempt.
        if (parsed.TryGetPayloadValue<object>("act", out _))
        {
            return ValueTask.FromResult<SubjectValidationResult>(new SubjectValidationResult.Invalid(ErrorCatalog.SubjectCarriesDelegation));
        }

        var identity = new WorkloadIdentity
        {
            Id = svid.Id.ToString(),
            Kind = IdentityKind.SpiffeJwt,
            Source = svid.Id.TrustDomain.Name,
            Claims = ClaimsFlattener.Flatten(parsed.EncodedPayload),
            ExpiresAt = svid.Expiry,
            KeyId = svid.KeyId,
        };
        return ValueTask.FromResult<SubjectValidationResult>(new SubjectValidationResult.Valid(identity));
    }

    public bool IsStillTrusted(WorkloadIdentity identity, PolicySet policy) =>
        policy.TrustDomains.ContainsKey(identity.Source)
        && TrustDomain.TryParse(identity.Source, out var td)
        && _bundles.TryGetJwtBundle(td, out var bundle)
        && bundle.TryGetAuthority(identity.KeyId, out _);

    private static ErrorDescriptor Describe(JwtSvidValidationError error) => error switch
    {
        JwtSvidValidationError.TooLarge => ErrorCatalog.SubjectTokenTooLarge,
        JwtSvidValidationError.UnsupportedAlgorithm or JwtSvidValidationError.KeyAlgorithmMismatch => ErrorCatalog.SubjectUnsupportedAlgorithm,
        JwtSvidValidationError.UnsupportedType => ErrorCatalog.SubjectInvalidType,
        JwtSvidValidationError.MissingKeyId => ErrorCatalog.SubjectMissingKeyId,
        JwtSvidValidationError.MissingSubject or JwtSvidValidationError.InvalidSubject => ErrorCatalog.SubjectInvalidSubject,
        JwtSvidValidationError.UnknownTrustDomain => ErrorCatalog.SubjectIssuerUnavailable,
        JwtSvidValidationError.UnknownKey => ErrorCatalog.SubjectUnknownKey,
        JwtSvidValidationError.InvalidSignature => ErrorCatalog.SubjectInvalidSignature,
        JwtSvidValidationError.MissingAudience or JwtSvidValidationError.AudienceMismatch => ErrorCatalog.SubjectInvalidAudience,
        JwtSvidValidationError.MissingExpiry => ErrorCatalog.SubjectMissingExpiry,
        JwtSvidValidationError.Expired => ErrorCatalog.SubjectExpired,
        JwtSvidValidationError.NotYetValid or JwtSvidValidationError.IssuedInFuture => ErrorCatalog.SubjectNotYetValid,
        _ => ErrorCatalog.SubjectMalformed,
    };
}
