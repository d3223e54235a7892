using Broker.Errors;
using Broker.Hosting;
using Broker.Policy;
using Broker.Spiffe;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Subjects;

/// <summary>
/// Validates any subject or actor token: parses it once, refuses disallowed algorithms before any
/// key is looked up, picks the validator by who issued it, and caches what it validated.
/// </summary>
/// <remarks>
/// Choice of validator, in order: our own issuer → the broker's key ring; a <c>sub</c> that is a
/// SPIFFE ID of a trust domain in policy → that trust domain's bundle (trust comes from the trust
/// domain of <c>sub</c>, never from <c>iss</c>); an <c>iss</c> that is an OIDC issuer in policy →
/// its discovery document and JWKS. Anything else is untrusted.
/// </remarks>
internal sealed class SubjectTokenValidator
{
    private readonly ISubjectTokenValidator _spiffe;
    private readonly ISubjectTokenValidator _oidc;
    private readonly ISubjectTokenValidator _broker;
    private readonly ValidationCache _cache;
    private readonly string _issuer;
    private readonly ILogger<SubjectTokenValidator> _logger;

    public SubjectTokenValidator(
        IEnumerable<ISubjectTokenValidator> validators,
        ValidationCache cache,
        IOptions<BrokerOptions> brokerOptions,
        ILogger<SubjectTokenValidator> logger)
    {
        var byKind = validators.ToDictionary(v => v.Kind);
        _spiffe = byKind[IdentityKind.SpiffeJwt];
        _oidc = byKind[IdentityKind.Oidc];
        _broker = byKind[IdentityKind.Broker];
        _cache = cache;
        _issuer = brokerOptions.Value.Issuer!;
        _logger = logger;
    }

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

        JsonWebToken parsed;
        try
        {
            parsed = new JsonWebToken(token);
        }
        catch (ArgumentException)
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectMalformed);
        }

        // The allow-list is checked before any key lookup (RFC 8725 §3.1); it also refuses "none".
        if (!SubjectAlgorithms.IsAllowed(parsed.Alg))
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectUnsupportedAlgorithm);
        }

        // JWE, or a JWS without a signature: we only accept signed JWTs.
        if (parsed.IsEncrypted || string.IsNullOrEmpty(parsed.EncodedSignature))
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectMalformed);
        }

        if (string.IsNullOrEmpty(parsed.Kid))
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectMissingKeyId);
        }

        var validator = Choose(parsed, policy);
        if (validator is null)
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectUntrustedIssuer);
        }

        var result = await validator.ValidateAsync(token, parsed, policy, cancellationToken);
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

    private ISubjectTokenValidator? Choose(JsonWebToken parsed, PolicySet policy)
    {
        var issuer = TryGetString(parsed, JwtRegisteredClaimNames.Iss);
        if (string.Equals(issuer, _issuer, StringComparison.Ordinal))
        {
            return _broker;
        }

        var subject = TryGetString(parsed, JwtRegisteredClaimNames.Sub);
        if (SpiffeId.TryParse(subject, out var id) && policy.TrustDomains.ContainsKey(id.TrustDomain.Name))
        {
            return _spiffe;
        }

        return issuer is not null && policy.OidcIssuers.ContainsKey(issuer) ? _oidc : null;
    }

    private static string? TryGetString(JsonWebToken token, string claim) =>
        token.TryGetPayloadValue<string>(claim, out var value) ? value : null;
}
