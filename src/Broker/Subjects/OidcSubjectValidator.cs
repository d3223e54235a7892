using Broker.Errors;
using Broker.Jose;
using Broker.Policy;
using Broker.Tokens;
using Microsoft.Extensions.Options;

namespace Broker.Subjects;

/// <summary>
/// OIDC workload tokens (Kubernetes service-account tokens, CI and cloud workload tokens) from
/// issuers a tenant trusts: the key by <c>kid</c> from the issuer's JWKS, whether it fits <c>alg</c>,
/// then <c>iss</c>, <c>aud</c>, <c>exp</c>, <c>nbf</c> and <c>iat</c> with bounded skew, then the
/// signature, then the claim mapping to a workload identity.
/// </summary>
/// <remarks>
/// The token already passed the gate of <see cref="CompactJws"/>, exactly as a JWT-SVID does, so both
/// paths refuse the same defects with the same reasons. Claim checks come before the signature, so a
/// flood of stale or misdirected tokens costs no public-key operation; the signature is verified by
/// Microsoft.IdentityModel's crypto providers over the JWK as the issuer published it.
/// </remarks>
internal sealed class OidcSubjectValidator : ISubjectTokenValidator
{
    private readonly OidcConfigurationRegistry _registry;
    private readonly string[] _defaultAudiences;
    private readonly SubjectsOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<OidcSubjectValidator> _logger;

    public OidcSubjectValidator(
        OidcConfigurationRegistry registry,
        IOptions<BrokerOptions> broker,
        IOptions<SubjectsOptions> options,
        TimeProvider timeProvider,
        ILogger<OidcSubjectValidator> logger)
    {
        _registry = registry;
        _options = options.Value;
        _defaultAudiences = _options.AcceptedAudiences(broker.Value.Issuer!);
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public IdentityKind Kind => IdentityKind.Oidc;

    public async ValueTask<SubjectValidationResult> ValidateAsync(CompactJws token, PolicySet policy, CancellationToken cancellationToken)
    {
        // Chosen because iss names a trusted issuer; the gate guarantees there is exactly one iss.
        var source = policy.OidcIssuers[token.Issuer!];
        var issuer = _registry.Get(source);
        var kid = token.KeyId!;

        IssuerKeySet keys;
        try
        {
            keys = await issuer.GetKeysAsync(cancellationToken);
            if (!keys.TryGet(kid, out _))
            {
                // An unknown kid may mean the issuer rotated: ask for fresh keys (at most once per
                // MinimumKeyRefreshInterval) and look once more.
                issuer.RequestRefresh();
                keys = await issuer.GetKeysAsync(cancellationToken);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or HttpRequestException or ArgumentException or System.Text.Json.JsonException or TaskCanceledException
            && !cancellationToken.IsCancellationRequested)
        {
            Log.IssuerKeysUnavailable(_logger, source.Issuer, ex.GetType().Name);
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectIssuerUnavailable);
        }

        if (!keys.TryGet(kid, out var key))
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectUnknownKey);
        }

        // RFC 8725 §3.1: the key decides the algorithm. ES384 over a P-256 key, RS256 with a 1024-bit key or an
        // alg other than the one the JWK pins are refused here, the same way the SPIFFE path refuses them.
        if (!JoseAlgorithms.KeyFits(key.Key, token.Algorithm))
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectKeyAlgorithmMismatch);
        }

        var audiences = source.Audiences.Count > 0 ? source.Audiences : _defaultAudiences;
        if (!token.Audience.Any(audiences.Contains))
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectInvalidAudience);
        }

        if (TokenLifetime.Check(token, _timeProvider.GetUtcNow(), _options.ClockSkew) is { } lifetimeError)
        {
            return new SubjectValidationResult.Invalid(lifetimeError);
        }

        if (!token.VerifySignature(key.Key))
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectInvalidSignature);
        }

        if (token.HasClaim("act"))
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectCarriesDelegation);
        }

        var claims = ClaimsFlattener.Flatten(token.Payload);
        // The template was validated when the policy loaded.
        var id = SubjectTemplate.TryParse(source.SubjectTemplate, out var template, out _) ? template!.Render(claims) : null;
        if (id is null)
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectUnmappable);
        }

        return new SubjectValidationResult.Valid(new WorkloadIdentity
        {
            Id = id,
            Kind = IdentityKind.Oidc,
            Source = source.Issuer,
            Claims = claims,
            ExpiresAt = TokenLifetime.ExpiresAt(token),
            KeyId = kid,
            KeyThumbprint = key.Thumbprint,
        });
    }

    /// <summary>
    /// Still trusted while the issuer is in policy and a key set fetched within the refresh interval holds the very
    /// key (same RFC 7638 thumbprint, not just the same kid) that verified the token.
    /// </summary>
    public bool IsStillTrusted(WorkloadIdentity identity, PolicySet policy) =>
        policy.OidcIssuers.TryGetValue(identity.Source, out var source)
        && _registry.Get(source).TryGetCurrentKey(identity.KeyId, out var key)
        && string.Equals(key.Thumbprint, identity.KeyThumbprint, StringComparison.Ordinal);
}
