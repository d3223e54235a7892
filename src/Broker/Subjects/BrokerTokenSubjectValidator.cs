using System.Text.Json;
using Broker.Errors;
using Broker.Grants;
using Broker.Jose;
using Broker.Policy;
using Broker.Tokens;
using Microsoft.Extensions.Options;

namespace Broker.Subjects;

/// <summary>
/// Capability tokens this broker issued, presented again to narrow them or to delegate. The token
/// must verify against our key ring, and its grant must still be active: the grant record, not the
/// token's claims, is what a re-exchange narrows.
/// </summary>
internal sealed class BrokerTokenSubjectValidator : ISubjectTokenValidator
{
    private readonly CapabilityTokenReader _reader;
    private readonly IGrantStore _grants;
    private readonly string _issuer;
    private readonly SubjectsOptions _options;
    private readonly TimeProvider _timeProvider;

    public BrokerTokenSubjectValidator(CapabilityTokenReader reader, IGrantStore grants, IOptions<BrokerOptions> broker, IOptions<SubjectsOptions> options, TimeProvider timeProvider)
    {
        _reader = reader;
        _grants = grants;
        _issuer = broker.Value.Issuer!;
        _options = options.Value;
        _timeProvider = timeProvider;
    }

    public IdentityKind Kind => IdentityKind.Broker;

    public async ValueTask<SubjectValidationResult> ValidateAsync(CompactJws token, PolicySet policy, CancellationToken cancellationToken)
    {
        if (_reader.Verify(token) is { } error)
        {
            return new SubjectValidationResult.Invalid(error);
        }

        if (TokenLifetime.Check(token, _timeProvider.GetUtcNow(), _options.ClockSkew) is { } lifetimeError)
        {
            return new SubjectValidationResult.Invalid(lifetimeError);
        }

        var grant = token.JwtId is not { Length: > 0 and <= GrantId.MaxLength } grantId
            ? null
            : await _grants.FindAsync(grantId, cancellationToken);
        if (grant is null || grant.Status != GrantStatus.Active || !string.Equals(grant.Subject, token.Subject, StringComparison.Ordinal))
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectGrantNotActive);
        }

        return new SubjectValidationResult.Valid(new WorkloadIdentity
        {
            Id = grant.Subject,
            Kind = IdentityKind.Broker,
            Source = _issuer,
            Claims = EmptyClaims,
            ExpiresAt = grant.ExpiresAt,
            KeyId = token.KeyId!,
            Grant = new BrokerGrantContext(grant.Id, grant.Tenant, grant.Capabilities, grant.Audience, grant.ActorChain, grant.TaskId, grant.Purpose, grant.Binding?.X509Thumbprint, grant.Binding?.JwkThumbprint)
            {
                Caller = CallerOf(token),
                ConsumerTenant = grant.ConsumerTenant,
            },
        });
    }

    /// <summary>
    /// The kinds of the token's chain (its <c>caller</c> claim). Read from the token rather than the grant record: the
    /// token is ours (its signature verified above) and the kinds were decided when it was minted, so they cost the
    /// record nothing. Null when absent or not a claim value; the evaluator then takes every identity for a workload.
    /// </summary>
    private static CallerKinds? CallerOf(CompactJws token)
    {
        // The gate checked the payload is one JSON object, so reading it cannot fail.
        var reader = new Utf8JsonReader(token.Payload.Span);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(CapabilityTokenClaims.Caller))
            {
                reader.Read();
                return reader.TokenType == JsonTokenType.String && CallerKinds.TryParse(reader.GetString(), out var kinds) ? kinds : null;
            }

            reader.Read();
            reader.Skip();
        }

        return null;
    }

    /// <summary>
    /// Never served from the validation cache: a grant can be revoked at any moment, so the store is
    /// asked on every presentation.
    /// </summary>
    public bool IsStillTrusted(WorkloadIdentity identity, PolicySet policy) => false;

    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> EmptyClaims = new Dictionary<string, IReadOnlyList<string>>();
}
