using System.Runtime.CompilerServices;
using Broker.Errors;
using Broker.Jose;
using Broker.Policy;
using Broker.Spiffe;
using Broker.Spiffe.Svids;
using Broker.Tokens;
using Broker.Trust;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Subjects;

/// <summary>
/// SPIFFE JWT-SVIDs (JWT-SVID spec §3, via <c>JwtSvid.Validate</c>): signed by a key of the
/// bundle of the trust domain of <c>sub</c>, with an <c>aud</c> that names this broker.
/// </summary>
internal sealed class SpiffeJwtSubjectValidator : ISubjectTokenValidator
{
    // Bundle keys are immutable once parsed; their thumbprints are computed once per key, not per token.
    private static readonly ConditionalWeakTable<JsonWebKey, string> Thumbprints = [];

    private readonly TrustBundleRegistry _bundles;
    private readonly string[] _audiences;
    private readonly JwtSvidValidationOptions _options;

    public SpiffeJwtSubjectValidator(TrustBundleRegistry bundles, IOptions<BrokerOptions> broker, IOptions<SubjectsOptions> subjects, TimeProvider timeProvider)
    {
        _bundles = bundles;
        _audiences = subjects.Value.AcceptedAudiences(broker.Value.Issuer!);
        _options = new JwtSvidValidationOptions
        {
            MaxTokenLength = subjects.Value.MaxTokenLength,
            ClockSkew = subjects.Value.ClockSkew,
            TimeProvider = timeProvider,
        };
    }

    public IdentityKind Kind => IdentityKind.SpiffeJwt;

    public ValueTask<SubjectValidationResult> ValidateAsync(CompactJws token, PolicySet policy, CancellationToken cancellationToken)
    {
        // The token was read through the gate once; the SPIFFE library validates that reading, not the string again.
        var result = JwtSvid.Validate(token, _bundles, _audiences, _options);
        if (result is not JwtSvidValidationSuccess { Svid: var svid, Authority: { } authority })
        {
            var error = ((JwtSvidValidationFailure)result).Error;
            return ValueTask.FromResult<SubjectValidationResult>(new SubjectValidationResult.Invalid(Describe(error)));
        }

        // A delegation chain is only meaningful in tokens we issued; anyone else's is a forgery attempt.
        if (token.HasClaim("act"))
        {
            return ValueTask.FromResult<SubjectValidationResult>(new SubjectValidationResult.Invalid(ErrorCatalog.SubjectCarriesDelegation));
        }

        var identity = new WorkloadIdentity
        {
            Id = svid.Id.ToString(),
            Kind = IdentityKind.SpiffeJwt,
            Source = svid.Id.TrustDomain.Name,
            Claims = ClaimsFlattener.Flatten(token.Payload),
            ExpiresAt = svid.Expiry,
            KeyId = svid.KeyId,
            KeyThumbprint = ThumbprintOf(authority),
        };
        return ValueTask.FromResult<SubjectValidationResult>(new SubjectValidationResult.Valid(identity));
    }

    /// <summary>
    /// Still trusted while the trust domain is in policy and its current bundle holds the very key (same RFC 7638
    /// thumbprint, not just the same kid) that verified the token.
    /// </summary>
    public bool IsStillTrusted(WorkloadIdentity identity, PolicySet policy) =>
        policy.TrustDomains.ContainsKey(identity.Source)
        && TrustDomain.TryParse(identity.Source, out var td)
        && _bundles.TryGetJwtBundle(td, out var bundle)
        && bundle.TryGetAuthority(identity.KeyId, out var key)
        && string.Equals(ThumbprintOf(key), identity.KeyThumbprint, StringComparison.Ordinal);

    private static string ThumbprintOf(JsonWebKey key) =>
        Thumbprints.GetValue(key, static k => Base64UrlEncoder.Encode(k.ComputeJwkThumbprint()));

    /// <summary>The same reason for the same defect as the gate and the OIDC path give.</summary>
    private static ErrorDescriptor Describe(JwtSvidValidationError error) => error switch
    {
        JwtSvidValidationError.TooLarge => ErrorCatalog.SubjectTokenTooLarge,
        JwtSvidValidationError.UnsupportedAlgorithm => ErrorCatalog.SubjectUnsupportedAlgorithm,
        JwtSvidValidationError.KeyAlgorithmMismatch => ErrorCatalog.SubjectKeyAlgorithmMismatch,
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
        JwtSvidValidationError.UnsupportedCriticalHeader => ErrorCatalog.SubjectCriticalHeader,
        JwtSvidValidationError.InvalidEncoding => ErrorCatalog.SubjectMalformedEncoding,
        JwtSvidValidationError.InvalidJson => ErrorCatalog.SubjectMalformedJson,
        JwtSvidValidationError.TrailingData => ErrorCatalog.SubjectTrailingData,
        JwtSvidValidationError.DuplicateMember => ErrorCatalog.SubjectDuplicateMember,
        JwtSvidValidationError.InvalidClaimType => ErrorCatalog.SubjectInvalidClaimType,
        JwtSvidValidationError.InvalidNumericDate => ErrorCatalog.SubjectInvalidNumericDate,
        _ => ErrorCatalog.SubjectMalformed,
    };
}
