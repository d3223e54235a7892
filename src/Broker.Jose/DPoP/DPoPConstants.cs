// Broker.Jose — DPoP (RFC 9449).

namespace Broker.Jose.DPoP;

/// <summary>The names RFC 9449 registers, for the servers and clients that speak DPoP.</summary>
public static class DPoPConstants
{
    /// <summary>The request header that carries a proof (RFC 9449 §4.1). Header names are case-insensitive.</summary>
    public const string HeaderName = "DPoP";

    /// <summary>The response header that carries a server nonce (RFC 9449 §8, §9).</summary>
    public const string NonceHeaderName = "DPoP-Nonce";

    /// <summary>The HTTP authentication scheme of a DPoP-bound access token (RFC 9449 §7.1).</summary>
    public const string AuthenticationScheme = "DPoP";

    /// <summary>The <c>token_type</c> of a DPoP-bound access token in a token response (RFC 9449 §5).</summary>
    public const string TokenType = "DPoP";

    /// <summary>The <c>typ</c> of a proof (RFC 9449 §4.2).</summary>
    public const string ProofType = "dpop+jwt";

    /// <summary>The <c>cnf</c> member holding the RFC 7638 thumbprint of the key a token is bound to (RFC 9449 §6.1).</summary>
    public const string ConfirmationMember = "jkt";

    /// <summary>The error for a proof that fails the checks of RFC 9449 §4.3 (RFC 9449 §5, §7.1).</summary>
    public const string InvalidDPoPProof = "invalid_dpop_proof";

    /// <summary>The error that asks the client to retry with the nonce sent in <see cref="NonceHeaderName"/> (RFC 9449 §8, §9).</summary>
    public const string UseDPoPNonce = "use_dpop_nonce";

    /// <summary>The authorization server metadata member listing the accepted proof algorithms (RFC 9449 §5.1).</summary>
    public const string SigningAlgValuesSupported = "dpop_signing_alg_values_supported";
}
