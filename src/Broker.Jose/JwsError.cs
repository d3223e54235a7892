// Broker.Jose — the strict compact-JWS gate.

namespace Broker.Jose;

/// <summary>Why <see cref="CompactJws.TryRead"/> refused a token. Values are stable; add new ones at the end.</summary>
public enum JwsError
{
    /// <summary>The token was read.</summary>
    None = 0,

    /// <summary>Not three non-empty dot-separated segments (JWE and the JSON serialisations included), or an empty signature.</summary>
    Malformed,

    /// <summary>Longer than <see cref="CompactJwsOptions.MaxTokenLength"/>.</summary>
    TooLarge,

    /// <summary>A segment is not canonical unpadded base64url: padding, a character outside the alphabet, non-zero trailing bits, or a length of 1 mod 4.</summary>
    InvalidBase64Url,

    /// <summary>The header or payload is not one JSON object in valid UTF-8 (or is nested too deep).</summary>
    InvalidJson,

    /// <summary>Something follows the JSON object of the header or payload.</summary>
    TrailingData,

    /// <summary>A member name appears twice in one object of the header or payload, at any depth.</summary>
    DuplicateMember,

    /// <summary><c>alg</c> is missing, not a string, or not in <see cref="JoseAlgorithms.Allowed"/>.</summary>
    UnsupportedAlgorithm,

    /// <summary>The header has a <c>crit</c> parameter, in any form: no extension is understood (RFC 7515 §4.1.11).</summary>
    CriticalHeader,

    /// <summary><c>typ</c> is not a string or is not one of <see cref="CompactJwsOptions.AcceptedTypes"/>.</summary>
    UnsupportedType,

    /// <summary><c>kid</c> is missing or empty and <see cref="CompactJwsOptions.RequireKeyId"/> is set.</summary>
    MissingKeyId,

    /// <summary>
    /// <c>kid</c>, <c>cty</c>, <c>x5t</c> or <c>zip</c> in the header, or <c>iss</c>, <c>sub</c>, <c>jti</c> or <c>azp</c> in the
    /// claims, is not a string; or <c>aud</c> is neither a string nor an array of strings.
    /// </summary>
    InvalidClaimType,

    /// <summary><c>exp</c>, <c>nbf</c> or <c>iat</c> is not a JSON number, or is negative or beyond the year 9999.</summary>
    InvalidNumericDate,
}
