namespace Broker.Errors;

/// <summary>OAuth error codes (RFC 6749 §5.2, RFC 8693 §2.2.2, RFC 8707 §2).</summary>
internal static class OAuthErrors
{
    public const string InvalidRequest = "invalid_request";
    public const string InvalidClient = "invalid_client";
    public const string InvalidGrant = "invalid_grant";
    public const string UnauthorizedClient = "unauthorized_client";
    public const string UnsupportedGrantType = "unsupported_grant_type";
    public const string InvalidScope = "invalid_scope";
    public const string InvalidTarget = "invalid_target";
    public const string ServerError = "server_error";
    public const string TemporarilyUnavailable = "temporarily_unavailable";

    /// <summary>
    /// RFC 8628 §3.5, registered for token endpoint responses (OAuth Extensions Error registry): the client
    /// asks too often. Returned with 429 and <c>Retry-After</c> when a rate limit refuses a request.
    /// </summary>
    public const string SlowDown = "slow_down";
}

/// <summary>The error codes RFC 9449 registers for token endpoint responses (§5, §8, §12.2).</summary>
internal static class DPoPErrors
{
    /// <summary>The DPoP proof fails the checks of RFC 9449 §4.3.</summary>
    public const string InvalidProof = Broker.Jose.DPoP.DPoPConstants.InvalidDPoPProof;

    /// <summary>The proof needs the server nonce sent with the answer in <c>DPoP-Nonce</c> (RFC 9449 §8).</summary>
    public const string UseNonce = Broker.Jose.DPoP.DPoPConstants.UseDPoPNonce;
}
