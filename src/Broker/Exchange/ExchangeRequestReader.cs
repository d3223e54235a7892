using Broker.Errors;
using Broker.Subjects;
using Broker.Tokens;
using static Broker.Exchange.TokenRequestReader;

namespace Broker.Exchange;

/// <summary>
/// The syntactic checks of an RFC 8693 token-exchange form, in order, each answering with one catalog error.
/// Nothing here trusts a token; it only decides whether the request is well formed.
/// </summary>
internal static class ExchangeRequestReader
{
    /// <summary>Reads a form whose <c>grant_type</c> <see cref="TokenRequestReader"/> found to be token exchange.</summary>
    public static (TokenExchangeRequest? Request, ErrorDescriptor? Error) Read(IFormCollection form, ExchangeOptions options, int maxTokenLength)
    {
        ArgumentNullException.ThrowIfNull(form);
        ArgumentNullException.ThrowIfNull(options);

        // RFC 8693 §2.1: subject_token and its type are required. Size is bounded before anything parses it.
        if (ReadCredential(form, ExchangeParameters.SubjectToken, maxTokenLength, ErrorCatalog.MissingSubjectToken, ErrorCatalog.SubjectTokenTooLarge, out var subjectToken) is { } subjectError)
        {
            return (null, subjectError);
        }

        var subjectTokenType = Single(form, ExchangeParameters.SubjectTokenType);
        if (subjectTokenType is null)
        {
            return (null, ErrorCatalog.MissingSubjectTokenType);
        }

        // Every type the subject validator knows, the TLS client certificate's included; which validator reads the
        // subject is its business, not the form's.
        if (!SubjectTokenTypes.IsSupported(subjectTokenType))
        {
            return (null, ErrorCatalog.UnsupportedSubjectTokenType);
        }

        // RFC 8693 §2.1: actor_token_type is required with actor_token and forbidden without it.
        var actorToken = Single(form, ExchangeParameters.ActorToken);
        var actorTokenType = Single(form, ExchangeParameters.ActorTokenType);
        if (actorToken is null && actorTokenType is not null)
        {
            return (null, ErrorCatalog.ActorTokenTypeWithoutToken);
        }

        if (actorToken is not null)
        {
            if (actorTokenType is null)
            {
                return (null, ErrorCatalog.ActorTokenWithoutType);
            }

            if (actorToken.Length > maxTokenLength)
            {
                return (null, ErrorCatalog.ActorTokenTooLarge);
            }

            if (!SubjectTokenTypes.IsJwt(actorTokenType))
            {
                return (null, ErrorCatalog.UnsupportedActorTokenType);
            }
        }

        // Only access tokens are issued; "jwt" is accepted as a synonym since they are JWTs.
        var requestedTokenType = Single(form, ExchangeParameters.RequestedTokenType) ?? CapabilityTokenTypes.AccessToken;
        if (requestedTokenType is not (CapabilityTokenTypes.AccessToken or CapabilityTokenTypes.Jwt))
        {
            return (null, ErrorCatalog.UnsupportedRequestedTokenType);
        }

        // Task context: required for the exchange (a re-exchange repeats it unchanged).
        if (ReadGrant(form, options, taskContextRequired: true, out var grant) is { } grantError)
        {
            return (null, grantError);
        }

        return (grant.ToRequest(ExchangeParameters.TokenExchangeGrantType, subjectToken, subjectTokenType, requestedTokenType, grant.Purpose!) with
        {
            ActorToken = actorToken,
            ActorTokenType = actorTokenType,
        }, null);
    }
}
