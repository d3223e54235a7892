// Broker.Spiffe — SPIFFE for .NET.

namespace Broker.Spiffe.Svids;

/// <summary>Why a JWT-SVID was rejected (spec §3). Values are stable; add new ones at the end.</summary>
public enum JwtSvidValidationError
{
    /// <summary>Not a compact JWS with one signature, or a header or claim has the wrong JSON type.</summary>
    Malformed = 1,

    /// <summary>Longer than <see cref="JwtSvidValidationOptions.MaxTokenLength"/>.</summary>
    TooLarge,

    /// <summary><c>alg</c> is not one of RS256/384/512, ES256/384/512, PS256/384/512.</summary>
    UnsupportedAlgorithm,

    /// <summary><c>typ</c> is present and neither <c>JWT</c> nor <c>JOSE</c>.</summary>
    UnsupportedType,

    /// <summary>No <c>kid</c> header.</summary>
    MissingKeyId,

    /// <summary>No <c>sub</c> claim.</summary>
    MissingSubject,

    /// <summary><c>sub</c> is not a valid SPIFFE ID.</summary>
    InvalidSubject,

    /// <summary>No bundle for the trust domain of <c>sub</c>.</summary>
    UnknownTrustDomain,

    /// <summary>The bundle of the subject's trust domain has no key with this <c>kid</c>.</summary>
    UnknownKey,

    /// <summary>The key's type or curve does not fit <c>alg</c>.</summary>
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
}
