// Broker.Jose — DPoP (RFC 9449).

namespace Broker.Jose.DPoP;

/// <summary>What <see cref="DPoPProofValidator.ValidateAsync"/> concluded: <see cref="Valid"/> or <see cref="Invalid"/>.</summary>
public abstract record DPoPProofResult
{
    private DPoPProofResult()
    {
    }

    /// <summary>The proof passed every check of RFC 9449 §4.3 and was recorded in the replay cache.</summary>
    /// <param name="Thumbprint">
    /// The RFC 7638 JWK SHA-256 thumbprint of the proof's key, base64url: the <c>cnf.jkt</c> to bind a token to, or to
    /// compare with a bound token's (RFC 9449 §6.1, §4.3 step 12).
    /// </param>
    /// <param name="JwtId">The proof's <c>jti</c>.</param>
    /// <param name="Algorithm">The proof's <c>alg</c>.</param>
    /// <param name="IssuedAt">The proof's <c>iat</c>.</param>
    public sealed record Valid(string Thumbprint, string JwtId, string Algorithm, DateTimeOffset IssuedAt) : DPoPProofResult;

    /// <summary>The proof was refused.</summary>
    /// <param name="Error">Why; never <see cref="DPoPProofError.None"/>.</param>
    public sealed record Invalid(DPoPProofError Error) : DPoPProofResult
    {
        /// <summary>Why the proof was refused.</summary>
        /// <exception cref="ArgumentOutOfRangeException">Set to <see cref="DPoPProofError.None"/>.</exception>
        public DPoPProofError Error { get; init; } = Error != DPoPProofError.None && Enum.IsDefined(Error)
            ? Error
            : throw new ArgumentOutOfRangeException(nameof(Error), Error, "dpop: a refusal needs a defined reason.");

        /// <summary>The stable reason code of <see cref="Error"/>, such as <c>wrong_htu</c>.</summary>
        public string ReasonCode => Error.ToReasonCode();

        /// <summary>The OAuth error to answer with (<see cref="DPoPProofErrorExtensions.ToOAuthError"/>).</summary>
        public string OAuthError => Error.ToOAuthError();

        /// <summary>True when the client should retry with a fresh server nonce (<c>use_dpop_nonce</c>).</summary>
        public bool IsNonceChallenge => Error is DPoPProofError.MissingNonce or DPoPProofError.WrongNonce or DPoPProofError.StaleNonce;
    }
}
