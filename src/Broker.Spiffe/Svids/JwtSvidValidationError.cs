// Broker.Spiffe — SPIFFE for .NET.

namespace Broker.Spiffe.Svids;

/// <summary>Why a JWT-SVID was rejected (spec §3). Values are stable; add new ones at the end.</summary>
public enum JwtSvidValidationError
{
    /// <summary>Not a compact JWS of three non-empty segments (JWE and the JSON serialisations included), or an empty signature.</summary>
    Malformed = 1,

    /// <summary>Longer than <see cref="JwtSvidValidationOptions.MaxTokenLength"/>.</summary>
    TooLarge,

    /// <summary><c>alg</c> is missing, not a string, or not one of RS256/384/512, ES256/384/512, PS256/384/512.</summary>
    UnsupportedAlgorithm,

    /// <summary><c>typ</c> is present and neither <c>JWT</c> nor <c>JOSE</c> (compared case-insensitively, <c>application/</c> prefix optional).</summary>
    UnsupportedType,

    /// <summary>No <c>kid</c> header, or an empty one.</summary>
    MissingKeyId,

    /// <summary>No <c>sub</c> claim.</summary>
    MissingSubject,

    /// <summary><c>sub</c> is not a valid SPIFFE ID.</summary>
    InvalidSubject,

    /// <summary>No bundle for the trust domain of <c>sub</c>.</summary>
    UnknownTrustDomain,

    /// <summary>The bundle of the subject's trust domain has no key with this <c>kid</c>.</summary>
    UnknownKey,

    /// <summary>The key's type, curve or size does not fit <c>alg</c>, or the JWK names another <c>alg</c> (see <c>JoseAlgorithms.KeyFits</c>).</summary>
    KeyAlgorithmMismatch,

    /// <summary>The signature does not verify.</summary>
    InvalidSignature,

    /// <summary>No <c>aud</c> claim.</summary>
    MissingAudience,

    /// <summary><c>aud</c> names none of the expected audiences.</summary>
    AudienceMismatch,

    /// <summary>No <c>exp</c> claim.</summary>
    MissingExpiry,

    /// <summary><c>exp</c> is in the past (allowing for clock skew).</summary>
    Expired,

    /// <summary><c>nbf</c> is in the future (allowing for clock skew).</summary>
    NotYetValid,

    /// <summary><c>iat</c> is in the future (allowing for clock skew).</summary>
    IssuedInFuture,

    /// <summary>The header carries a <c>crit</c> parameter; no extension is understood (RFC 7515 §4.1.11).</summary>
    UnsupportedCriticalHeader,

    /// <summary>A segment is not canonical unpadded base64url (padding, a character outside the alphabet, non-zero trailing bits).</summary>
    InvalidEncoding,

    /// <summary>The header or the claims are not one JSON object in valid UTF-8.</summary>
    InvalidJson,

    /// <summary>Something follows the JSON object of the header or the claims.</summary>
    TrailingData,

    /// <summary>A member name appears twice in one object of the header or the claims, at any depth.</summary>
    DuplicateMember,

    /// <summary>A header parameter or claim that must be a string is not (<c>kid</c>, <c>iss</c>, <c>sub</c>, ...), or <c>aud</c> is neither a string nor an array of strings.</summary>
    InvalidClaimType,

    /// <summary><c>exp</c>, <c>nbf</c> or <c>iat</c> is not a JSON number, or is negative or beyond the year 9999.</summary>
    InvalidNumericDate,
}
