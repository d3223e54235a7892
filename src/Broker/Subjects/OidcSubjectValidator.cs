using Broker.Errors;
using Broker.Hosting;
using Broker.Policy;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Subjects;

/// <summary>
/// OIDC workload tokens (Kubernetes service-account tokens, CI and cloud workload tokens) from
/// issuers a tenant trusts: signature against the issuer's JWKS, then <c>iss</c>, <c>aud</c>,
/// <c>exp</c> and <c>nbf</c> with bounded skew, then the claim mapping to a workload identity.
/// </summary>
internal sealed class OidcSubjectValidator : ISubjectTokenValidator
{
    private readonly OidcConfigurationRegistry _registry;
    private readonly JsonWebTokenHandler _handler = new();
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
        _defaultAudiences = _options.Audiences.Count > 0 ? [.. _options.Audiences] : [broker.Value.Issuer!];
        _timeProvider = timeProvider;
        _logger = logger;
        _handler.MaximumTokenSizeInBytes = _options.MaxTokenLength;
    }

    public IdentityKind Kind => IdentityKind.Oidc;

    public async ValueTask<SubjectValidationResult> ValidateAsync(string token, JsonWebToken parsed, PolicySet policy, CancellationToken cancellationToken)
    {
        var source = policy.OidcIssuers[parsed.Issuer];
        var issuer = _registry.Get(source);

        IReadOnlyCollection<SecurityKey> keys;
        try
        {
            keys = await issuer.GetKeysAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or HttpRequestException or ArgumentException)
        {
            Log.IssuerKeysUnavailable(_logger, source.Issuer, ex.GetType().Name);
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectIssuerUnavailable);
        }

        // An unknown kid may mean the issuer rotated: ask for fresh keys (rate-limited by the
        // configuration manager) and look once more.
        if (!keys.Any(k => k.KeyId == parsed.Kid))
        {
            issuer.RequestRefresh();
            try
            {
                keys = await issuer.GetKeysAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or HttpRequestException or ArgumentException)
            {
                Log.IssuerKeysUnavailable(_logger, source.Issuer, ex.GetType().Name);
                return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectIssuerUnavailable);
            }
        }

        var key = keys.FirstOrDefault(k => k.KeyId == parsed.Kid);
        if (key is null)
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectUnknownKey);
        }

        var parameters = new TokenValidationParameters
        {
            ValidIssuer = source.Issuer,
            ValidAudiences = source.Audiences.Count > 0 ? source.Audiences : _defaultAudiences,
            IssuerSigningKey = key,
            TryAllIssuerSigningKeys = false,
            ValidAlgorithms = SubjectAlgorithms.Allowed,
            RequireSignedTokens = true,
            // Lifetime is checked below against the broker's clock.
            ValidateLifetime = false,
            ClockSkew = _options.ClockSkew,
            SaveSigninToken = false,
        };

        var result = await _handler.ValidateTokenAsync(parsed, parameters);
        if (!result.IsValid)
        {
            Log.ValidationDetail(_logger, result.Exception?.GetType().Name ?? "unknown");
            return new SubjectValidationResult.Invalid(Describe(result.Exception));
        }

        if (TokenLifetime.Check(parsed, _timeProvider.GetUtcNow(), _options.ClockSkew) is { } lifetimeError)
        {
            return new SubjectValidationResult.Invalid(lifetimeError);
        }

        if (parsed.TryGetPayloadValue<object>("act", out _))
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectCarriesDelegation);
        }

        var claims = ClaimsFlattener.Flatten(parsed.EncodedPayload);
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
            ExpiresAt = new DateTimeOffset(parsed.ValidTo, TimeSpan.Zero),
            KeyId = parsed.Kid,
        });
    }

    public bool IsStillTrusted(WorkloadIdentity identity, PolicySet policy) =>
        policy.OidcIssuers.TryGetValue(identity.Source, out var source) && _registry.Get(source).Publishes(identity.KeyId);

    /// <summary>Only known validation failures get a specific description (RFC 6750 §3.1 spirit); anything else is generic.</summary>
    private static ErrorDescriptor Describe(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => ErrorCatalog.SubjectExpired,
        SecurityTokenNotYetValidException => ErrorCatalog.SubjectNotYetValid,
        SecurityTokenNoExpirationException => ErrorCatalog.SubjectMissingExpiry,
        SecurityTokenInvalidAudienceException => ErrorCatalog.SubjectInvalidAudience,
        SecurityTokenInvalidIssuerException => ErrorCatalog.SubjectInvalidIssuer,
        SecurityTokenSignatureKeyNotFoundException => ErrorCatalog.SubjectUnknownKey,
        SecurityTokenInvalidAlgorithmException => ErrorCatalog.SubjectUnsupportedAlgorithm,
        SecurityTokenInvalidSignatureException => ErrorCatalog.SubjectInvalidSignature,
        SecurityTokenInvalidTypeException => ErrorCatalog.SubjectInvalidType,
        _ => ErrorCatalog.SubjectMalformed,
    };
}
