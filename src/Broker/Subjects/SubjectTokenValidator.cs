using Broker.Errors;
using Broker.Jose;
using Broker.Policy;
using Broker.Spiffe;
using Broker.Tokens;
using Microsoft.Extensions.Options;

namespace Broker.Subjects;

/// <summary>
/// Validates any subject or actor token, and the bearer credentials of the admin API and
/// introspection: reads it once through the strict gate of <see cref="CompactJws"/> (structure,
/// duplicate members, alg allow-list, crit, claim types; before any key is looked up), picks the
/// validator by who issued it, checks <c>typ</c> for that kind, and caches what it validated. A subject
/// presented as the connection's TLS client certificate (<see cref="SubjectTokenTypes.X509Svid"/>) goes to
/// <see cref="X509SvidSubjectValidator"/> instead: the one entry point for every subject token type.
/// </summary>
/// <remarks>
/// Choice of validator, in order: the X509-SVID type → the certificate's trust domain's X.509 bundle; then, for a
/// JWT: our own issuer → the broker's key ring; a <c>sub</c> that is a
/// SPIFFE ID of a trust domain in policy → that trust domain's bundle (trust comes from the trust
/// domain of <c>sub</c>, never from <c>iss</c>); an <c>iss</c> that is an OIDC issuer in policy →
/// its discovery document and JWKS. Anything else is untrusted.
/// </remarks>
internal sealed class SubjectTokenValidator
{
    private readonly ISubjectTokenValidator _spiffe;
    private readonly ISubjectTokenValidator _oidc;
    private readonly ISubjectTokenValidator _broker;
    private readonly X509SvidSubjectValidator _certificates;
    private readonly ValidationCache _cache;
    private readonly string _issuer;
    private readonly ILogger<SubjectTokenValidator> _logger;
    private readonly CompactJwsOptions _gate;

    public SubjectTokenValidator(
        IEnumerable<ISubjectTokenValidator> validators,
        X509SvidSubjectValidator certificates,
        ValidationCache cache,
        IOptions<BrokerOptions> brokerOptions,
        IOptions<SubjectsOptions> subjectsOptions,
        ILogger<SubjectTokenValidator> logger)
    {
        var byKind = validators.ToDictionary(v => v.Kind);
        _spiffe = byKind[IdentityKind.SpiffeJwt];
        _oidc = byKind[IdentityKind.Oidc];
        _broker = byKind[IdentityKind.Broker];
        _certificates = certificates;
        _cache = cache;
        _issuer = brokerOptions.Value.Issuer!;
        _logger = logger;
        _gate = new CompactJwsOptions
        {
            MaxTokenLength = subjectsOptions.Value.MaxTokenLength,

            // Both kinds pass the gate; which one a token must be is decided once its issuer is known.
            AcceptedTypes = JwsTypes.Jwt.Union(JwsTypes.AccessToken),
            RequireKeyId = true,
        };
    }

    /// <summary>
    /// True when <paramref name="token"/> passes the gate and names this broker as its issuer: one of our capability
    /// tokens. Cheap (no key, no store), so callers that must never accept one can refuse it first.
    /// </summary>
    public bool IsOwnToken(string token) =>
        CompactJws.TryRead(token, _gate, out var jws, out _) && string.Equals(jws.Issuer, _issuer, StringComparison.Ordinal);

    /// <summary>
    /// Validates a subject as presented at the token endpoint, whatever its type: the caller's TLS client certificate for
    /// the X509-SVID type (never cached: the connection, not the token, is the credential), a JWT otherwise.
    /// </summary>
    public ValueTask<SubjectValidationResult> ValidateAsync(PresentedSubject subject, PolicySet policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subject);
        return subject.TokenType == SubjectTokenTypes.X509Svid
            ? ValueTask.FromResult(_certificates.Validate(subject.ClientCertificate, subject.Token, policy))
            : ValidateAsync(subject.Token, subject.Hash, policy, cancellationToken);
    }

    /// <summary>Validates a JWT: a subject or actor token, or a bearer credential.</summary>
    public async ValueTask<SubjectValidationResult> ValidateAsync(string token, TokenHash hash, PolicySet policy, CancellationToken cancellationToken)
    {
        if (_cache.TryGet(hash, out var cached))
        {
            var owner = cached!.Kind switch
            {
                IdentityKind.SpiffeJwt => _spiffe,
                IdentityKind.Oidc => _oidc,
                _ => _broker,
            };

            // A cached identity is only as good as the key and source that vouched for it.
            if (owner.IsStillTrusted(cached, policy))
            {
                return new SubjectValidationResult.Valid(cached);
            }

            _cache.Remove(hash);
        }

        // :: The structural gate (Broker.Jose), before any key lookup or claim use: one reading of the token
        // that every later step, and every JOSE library after it, sees alike.
        if (!CompactJws.TryRead(token, _gate, out var jws, out var error))
        {
            var reason = Describe(error);
            Log.TokenRefusedByGate(_logger, reason.Reason, hash.ToString());
            return new SubjectValidationResult.Invalid(reason);
        }

        var validator = Choose(jws, policy);
        if (validator is null)
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectUntrustedIssuer);
        }

        // Explicit typing (RFC 8725 §3.11): our own tokens are at+jwt (RFC 9068 §2.1); a workload's identity
        // token is a plain JWT. A DPoP proof, status list, ID-JAG, transaction or logout token is none of these.
        if (!(validator.Kind == IdentityKind.Broker ? JwsTypes.AccessToken : JwsTypes.Jwt).Contains(jws.Type))
        {
            Log.SubjectRejected(_logger, validator.Kind, ErrorCatalog.SubjectInvalidType.Reason, hash.ToString());
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectInvalidType);
        }

        var result = await validator.ValidateAsync(jws, policy, cancellationToken);
        // Our own tokens are never cached: their grant may be revoked at any moment.
        if (result is SubjectValidationResult.Valid valid && valid.Identity.Kind != IdentityKind.Broker)
        {
            _cache.Add(hash, valid.Identity);
        }
        else if (result is SubjectValidationResult.Invalid invalid)
        {
            Log.SubjectRejected(_logger, validator.Kind, invalid.Reason.Reason, hash.ToString());
        }

        return result;
    }

    private ISubjectTokenValidator? Choose(CompactJws token, PolicySet policy)
    {
        var issuer = token.Issuer;
        if (string.Equals(issuer, _issuer, StringComparison.Ordinal))
        {
            return _broker;
        }

        if (SpiffeId.TryParse(token.Subject, out var id) && policy.TrustDomains.ContainsKey(id.TrustDomain.Name))
        {
            return _spiffe;
        }

        return issuer is not null && policy.OidcIssuers.ContainsKey(issuer) ? _oidc : null;
    }

    /// <summary>Every rule of the gate has its own audited reason.</summary>
    private static ErrorDescriptor Describe(JwsError error) => error switch
    {
        JwsError.TooLarge => ErrorCatalog.SubjectTokenTooLarge,
        JwsError.InvalidBase64Url => ErrorCatalog.SubjectMalformedEncoding,
        JwsError.InvalidJson => ErrorCatalog.SubjectMalformedJson,
        JwsError.TrailingData => ErrorCatalog.SubjectTrailingData,
        JwsError.DuplicateMember => ErrorCatalog.SubjectDuplicateMember,
        JwsError.UnsupportedAlgorithm => ErrorCatalog.SubjectUnsupportedAlgorithm,
        JwsError.CriticalHeader => ErrorCatalog.SubjectCriticalHeader,
        JwsError.UnsupportedType => ErrorCatalog.SubjectInvalidType,
        JwsError.MissingKeyId => ErrorCatalog.SubjectMissingKeyId,
        JwsError.InvalidClaimType => ErrorCatalog.SubjectInvalidClaimType,
        JwsError.InvalidNumericDate => ErrorCatalog.SubjectInvalidNumericDate,
        _ => ErrorCatalog.SubjectMalformed,
    };
}
