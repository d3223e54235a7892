using Broker.Errors;
using Broker.Policy;
using Broker.Tokens;
using static Broker.Exchange.TokenRequestReader;

namespace Broker.Exchange;

/// <summary>
/// The syntactic checks of an RFC 7523 §2.1 jwt-bearer form, in order, each answering with one catalog error: the
/// grant of the MCP Workload Identity Federation extension, by which an MCP SDK client presents its workload JWT.
/// It becomes the same <see cref="TokenExchangeRequest"/> as a token exchange, with the assertion as its subject
/// token, so it meets the same subject validation, policy, grant record and audit.
/// </summary>
/// <remarks>
/// There is no client authentication beyond the assertion (RFC 7523 §2.1 makes it optional; the extension has
/// none): <c>client_id</c> is not read, as at the token exchange, and the identity is the assertion's.
/// </remarks>
internal static class JwtBearerRequestReader
{
    /// <summary>Reads a form whose <c>grant_type</c> <see cref="TokenRequestReader"/> found to be jwt-bearer.</summary>
    public static (TokenExchangeRequest? Request, ErrorDescriptor? Error) Read(IFormCollection form, ExchangeOptions options, int maxTokenLength)
    {
        ArgumentNullException.ThrowIfNull(form);
        ArgumentNullException.ThrowIfNull(options);

        // The token exchange's credentials have no meaning here. Refused rather than ignored: a client that mixed
        // the two grants up learns which parameter to use, and no token it sent is silently left unchecked.
        if (Single(form, ExchangeParameters.SubjectToken) is not null || Single(form, ExchangeParameters.SubjectTokenType) is not null)
        {
            return (null, ErrorCatalog.AssertionWithSubjectToken);
        }

        // Delegation (act) is built from an actor token, which only the token exchange carries (RFC 8693 §2.1).
        if (Single(form, ExchangeParameters.ActorToken) is not null || Single(form, ExchangeParameters.ActorTokenType) is not null)
        {
            return (null, ErrorCatalog.AssertionWithActorToken);
        }

        // RFC 7521 §4.1, RFC 7523 §2.1: exactly one JWT (a repeated assertion was refused with the form). Size is
        // bounded before anything parses it, with the same limit as a subject token.
        if (ReadCredential(form, ExchangeParameters.Assertion, maxTokenLength, ErrorCatalog.MissingAssertion, ErrorCatalog.AssertionTooLarge, out var assertion) is { } assertionError)
        {
            return (null, assertionError);
        }

        // requested_token_type is RFC 8693's; tolerated only when it asks for what this grant issues anyway.
        if (Single(form, ExchangeParameters.RequestedTokenType) is { } requested && requested != CapabilityTokenTypes.AccessToken)
        {
            return (null, ErrorCatalog.AssertionRequestedTokenType);
        }

        // The target, scope and lifetime read exactly as at the token exchange. Task context: optional here, since an
        // MCP SDK client knows nothing of it. Without task_id the grant is its own task (its ID becomes the task ID when
        // it is minted); without purpose it has none, and a rule that names purposes does not match it (Grammar.NoPurpose).
        if (ReadGrant(form, options, taskContextRequired: false, out var grant) is { } grantError)
        {
            return (null, grantError);
        }

        // The assertion is a JWT; which validator reads it is decided by its issuer, as for any JWT subject token.
        return (grant.ToRequest(
            ExchangeParameters.JwtBearerGrantType, assertion, CapabilityTokenTypes.Jwt, CapabilityTokenTypes.AccessToken, grant.Purpose ?? Grammar.NoPurpose), null);
    }
}
