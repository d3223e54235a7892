// Broker.Jose — DPoP (RFC 9449).

namespace Broker.Jose.DPoP;

/// <summary>
/// Why <see cref="DPoPProofValidator"/> refused a proof. Values are stable; add new ones at the end. Each has a stable
/// reason code (<see cref="DPoPProofErrorExtensions.ToReasonCode"/>) for audit and logs, and maps to one OAuth error
/// (<see cref="DPoPProofErrorExtensions.ToOAuthError"/>).
/// </summary>
public enum DPoPProofError
{
    /// <summary>The proof was accepted.</summary>
    None = 0,

    /// <summary><c>missing_proof</c>: no <c>DPoP</c> header, or an empty one (RFC 9449 §4.3 steps 1, 2).</summary>
    MissingProof,

    /// <summary><c>multiple_proofs</c>: more than one <c>DPoP</c> header, or one holding a list (RFC 9449 §4.3 step 1).</summary>
    MultipleProofs,

    /// <summary><c>oversized_proof</c>: longer than <see cref="DPoPProofValidatorOptions.MaxProofLength"/>.</summary>
    OversizedProof,

    /// <summary><c>malformed_proof</c>: not a single well-formed compact JWS that passes <see cref="CompactJws.TryRead"/> (RFC 9449 §4.3 step 2).</summary>
    MalformedProof,

    /// <summary><c>bad_typ</c>: <c>typ</c> is not exactly <c>dpop+jwt</c> (RFC 9449 §4.3 step 4, §11.5).</summary>
    BadType,

    /// <summary><c>disallowed_alg</c>: <c>alg</c> is <c>none</c>, symmetric, unknown, or not in <see cref="DPoPProofValidatorOptions.Algorithms"/> (RFC 9449 §4.3 step 5, §11.6).</summary>
    DisallowedAlgorithm,

    /// <summary><c>missing_jwk</c>: the header has no <c>jwk</c> (RFC 9449 §4.2).</summary>
    MissingJwk,

    /// <summary><c>bad_jwk</c>: <c>jwk</c> is not a public EC (P-256, P-384, P-521) or RSA key in canonical form within the size bounds, or is not for signatures.</summary>
    BadJwk,

    /// <summary><c>private_key_in_jwk</c>: <c>jwk</c> has a private or symmetric member (<c>d</c>, <c>p</c>, <c>q</c>, <c>dp</c>, <c>dq</c>, <c>qi</c>, <c>oth</c>, <c>k</c>) (RFC 9449 §4.3 step 7).</summary>
    PrivateKeyInJwk,

    /// <summary><c>alg_key_mismatch</c>: the key's type or curve does not fit <c>alg</c>, or the key pins another <c>alg</c> (RFC 8725 §3.1).</summary>
    AlgorithmKeyMismatch,

    /// <summary><c>bad_signature</c>: the signature does not verify with <c>jwk</c> (RFC 9449 §4.3 step 6).</summary>
    BadSignature,

    /// <summary><c>missing_claim</c>: <c>jti</c>, <c>htm</c>, <c>htu</c> or <c>iat</c> is absent (RFC 9449 §4.3 step 3).</summary>
    MissingClaim,

    /// <summary><c>invalid_claim</c>: <c>htm</c>, <c>htu</c>, <c>ath</c> or <c>nonce</c> is not a string, <c>jti</c> is empty or longer than <see cref="DPoPProofValidatorOptions.MaxJtiLength"/>, or <c>htu</c> is no http(s) URI.</summary>
    InvalidClaim,

    /// <summary><c>wrong_htm</c>: <c>htm</c> is not the request's method (RFC 9449 §4.3 step 8).</summary>
    WrongHtm,

    /// <summary><c>wrong_htu</c>: <c>htu</c> is not the request's URI, both normalised by <see cref="DPoPHtu"/> (RFC 9449 §4.3 step 9).</summary>
    WrongHtu,

    /// <summary><c>stale_iat</c>: <c>iat</c> is older than <see cref="DPoPProofValidatorOptions.MaxAge"/> (RFC 9449 §4.3 step 11, §11.1).</summary>
    StaleIssuedAt,

    /// <summary><c>future_iat</c>: <c>iat</c> is later than now plus <see cref="DPoPProofValidatorOptions.ClockSkew"/> (RFC 9449 §11.1).</summary>
    FutureIssuedAt,

    /// <summary><c>missing_ath</c>: an access token was presented and the proof has no <c>ath</c> (RFC 9449 §4.3 step 12, §7).</summary>
    MissingAth,

    /// <summary><c>wrong_ath</c>: <c>ath</c> is not the hash of the access token presented (RFC 9449 §4.3 step 12).</summary>
    WrongAth,

    /// <summary><c>missing_nonce</c>: the server requires a nonce and the proof has none (RFC 9449 §8, §11.3). Answer <c>use_dpop_nonce</c>.</summary>
    MissingNonce,

    /// <summary><c>wrong_nonce</c>: the nonce is not one this server issued (RFC 9449 §4.3 step 10). Answer <c>use_dpop_nonce</c>.</summary>
    WrongNonce,

    /// <summary><c>stale_nonce</c>: the nonce was issued by this server but is no longer accepted. Answer <c>use_dpop_nonce</c>.</summary>
    StaleNonce,

    /// <summary><c>replayed_jti</c>: a proof with this key and <c>jti</c> was accepted within the window (RFC 9449 §11.1).</summary>
    ReplayedJti,

    /// <summary><c>replay_cache_unavailable</c>: the replay cache could not record the proof (full, or its store is down), so it is refused: a server fault, not the client's.</summary>
    ReplayCacheUnavailable,
}

/// <summary>Reason codes and OAuth error codes of <see cref="DPoPProofError"/>.</summary>
public static class DPoPProofErrorExtensions
{
    /// <summary>
    /// The stable snake_case reason for audit and logs, such as <c>wrong_htu</c> (see each value of
    /// <see cref="DPoPProofError"/>); <c>none</c> for <see cref="DPoPProofError.None"/>.
    /// </summary>
    public static string ToReasonCode(this DPoPProofError error) => error switch
    {
        DPoPProofError.None => "none",
        DPoPProofError.MissingProof => "missing_proof",
        DPoPProofError.MultipleProofs => "multiple_proofs",
        DPoPProofError.OversizedProof => "oversized_proof",
        DPoPProofError.MalformedProof => "malformed_proof",
        DPoPProofError.BadType => "bad_typ",
        DPoPProofError.DisallowedAlgorithm => "disallowed_alg",
        DPoPProofError.MissingJwk => "missing_jwk",
        DPoPProofError.BadJwk => "bad_jwk",
        DPoPProofError.PrivateKeyInJwk => "private_key_in_jwk",
        DPoPProofError.AlgorithmKeyMismatch => "alg_key_mismatch",
        DPoPProofError.BadSignature => "bad_signature",
        DPoPProofError.MissingClaim => "missing_claim",
        DPoPProofError.InvalidClaim => "invalid_claim",
        DPoPProofError.WrongHtm => "wrong_htm",
        DPoPProofError.WrongHtu => "wrong_htu",
        DPoPProofError.StaleIssuedAt => "stale_iat",
        DPoPProofError.FutureIssuedAt => "future_iat",
        DPoPProofError.MissingAth => "missing_ath",
        DPoPProofError.WrongAth => "wrong_ath",
        DPoPProofError.MissingNonce => "missing_nonce",
        DPoPProofError.WrongNonce => "wrong_nonce",
        DPoPProofError.StaleNonce => "stale_nonce",
        DPoPProofError.ReplayedJti => "replayed_jti",
        DPoPProofError.ReplayCacheUnavailable => "replay_cache_unavailable",
        _ => throw new ArgumentOutOfRangeException(nameof(error), error, "dpop: unknown proof error."),
    };

    /// <summary>
    /// The OAuth error to answer with: <c>use_dpop_nonce</c> for a missing, wrong or stale nonce (RFC 9449 §8, §9; send a
    /// fresh <c>DPoP-Nonce</c> with it), <c>temporarily_unavailable</c> for
    /// <see cref="DPoPProofError.ReplayCacheUnavailable"/> (a server fault: 503, not 400/401), and
    /// <c>invalid_dpop_proof</c> for every other failure (RFC 9449 §5, §7.1).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="error"/> is <see cref="DPoPProofError.None"/>.</exception>
    public static string ToOAuthError(this DPoPProofError error) => error switch
    {
        DPoPProofError.None => throw new ArgumentOutOfRangeException(nameof(error), error, "dpop: an accepted proof has no error."),
        DPoPProofError.MissingNonce or DPoPProofError.WrongNonce or DPoPProofError.StaleNonce => DPoPConstants.UseDPoPNonce,
        DPoPProofError.ReplayCacheUnavailable => "temporarily_unavailable",
        _ => DPoPConstants.InvalidDPoPProof,
    };
}
