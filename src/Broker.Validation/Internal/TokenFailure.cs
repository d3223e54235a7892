// Broker.Validation — resource servers honour broker tokens.

using Microsoft.IdentityModel.Tokens;

namespace Broker.Validation.Internal;

/// <summary>Why a presented token was refused. The names are logged; the descriptions go to the client.</summary>
internal enum TokenFailure
{
    Invalid,
    TooLong,
    Malformed,
    Algorithm,
    Type,
    UnknownKey,
    Signature,
    Issuer,
    Audience,
    Expired,
    NotYetValid,
    MissingClaims,
    Tenant,
    CertificateBinding,
    UnsupportedBinding,
    Revoked,
    RevocationUnknown,
    DPoPProof,
    DPoPNonce,
    DPoPKeyMismatch,
    DPoPDowngrade,
    NotDPoPBound,
    DPoPRequired,
    DPoPReplayCacheUnavailable,
}

/// <summary>A token refused by one of our own checks (after, or before, IdentityModel's).</summary>
internal sealed class BrokerTokenRejectedException(TokenFailure failure) : SecurityTokenValidationException(failure.ToString())
{
    public TokenFailure Failure { get; } = failure;
}

/// <summary>The scheme a token was presented with (RFC 6750 <c>Bearer</c> or RFC 9449 <c>DPoP</c>), kept for the challenge.</summary>
internal enum PresentedScheme
{
    Bearer,
    DPoP,
}

/// <summary>The broker's metadata or keys could not be fetched: no token can be validated.</summary>
internal sealed class BrokerMetadataUnavailableException(string message, Exception? inner = null) : InvalidOperationException(message, inner);

/// <summary>
/// Fixed <c>error_description</c> texts (RFC 6750 §3). Only known failures are described; nothing from an
/// exception message is echoed (aspnetcore's JwtBearerHandler does the same).
/// </summary>
internal static class TokenFailures
{
    public static TokenFailure Classify(Exception? exception) => exception switch
    {
        BrokerTokenRejectedException rejected => rejected.Failure,
        SecurityTokenExpiredException => TokenFailure.Expired,
        SecurityTokenNotYetValidException => TokenFailure.NotYetValid,
        SecurityTokenInvalidAudienceException => TokenFailure.Audience,
        SecurityTokenInvalidIssuerException => TokenFailure.Issuer,
        SecurityTokenInvalidTypeException => TokenFailure.Type,
        SecurityTokenInvalidAlgorithmException => TokenFailure.Algorithm,
        SecurityTokenSignatureKeyNotFoundException => TokenFailure.UnknownKey,
        SecurityTokenInvalidSignatureException => TokenFailure.Signature,
        SecurityTokenNoExpirationException => TokenFailure.MissingClaims,
        SecurityTokenMalformedException => TokenFailure.Malformed,
        AggregateException aggregate when aggregate.InnerExceptions.Count > 0 => Classify(aggregate.InnerExceptions[0]),
        _ => TokenFailure.Invalid,
    };

    public static string Describe(TokenFailure failure) => failure switch
    {
        TokenFailure.TooLong => "The token is too long.",
        TokenFailure.Malformed => "The token is malformed.",
        TokenFailure.Algorithm => "The token's signing algorithm is not accepted.",
        TokenFailure.Type => "The token is not an access token (typ at+jwt).",
        TokenFailure.UnknownKey => "The token's signing key is unknown.",
        TokenFailure.Signature => "The token's signature is not valid.",
        TokenFailure.Issuer => "The token was not issued by the trusted broker.",
        TokenFailure.Audience => "The token was not issued for this resource.",
        TokenFailure.Expired => "The token has expired.",
        TokenFailure.NotYetValid => "The token is not valid yet.",
        TokenFailure.MissingClaims => "The token lacks required claims.",
        TokenFailure.Tenant => "The token was issued for another tenant.",
        TokenFailure.CertificateBinding => "The token is bound to a client certificate that was not presented.",
        TokenFailure.UnsupportedBinding => "The token is bound by a method this resource does not support.",
        TokenFailure.Revoked => "The token's grant has been revoked.",
        TokenFailure.RevocationUnknown => "The token's revocation status is not known.",
        TokenFailure.DPoPProof => "The DPoP proof is not valid.",
        TokenFailure.DPoPNonce => "The DPoP proof must carry the nonce this server sent in DPoP-Nonce.",
        TokenFailure.DPoPKeyMismatch => "The DPoP proof is not signed with the key the token is bound to.",
        TokenFailure.DPoPDowngrade => "The token is DPoP-bound: present it with the DPoP scheme and a proof.",
        TokenFailure.NotDPoPBound => "The token is not DPoP-bound: present it with the Bearer scheme.",
        TokenFailure.DPoPRequired => "This resource accepts DPoP-bound tokens only.",
        _ => "The token is not valid.",
    };
}
