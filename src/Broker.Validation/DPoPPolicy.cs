// Broker.Validation — resource servers honour broker tokens.

namespace Broker.Validation;

/// <summary>
/// How DPoP-bound tokens (RFC 9449, <c>cnf.jkt</c>) are checked: presented with the <c>DPoP</c> scheme and a proof
/// signed with the key the token is bound to, made for this request. Validated when the host starts.
/// </summary>
public sealed class DPoPPolicy
{
    /// <summary>
    /// Refuse every token that is not DPoP-bound (bearer and certificate-bound ones alike), and say so in the protected
    /// resource metadata (<c>dpop_bound_access_tokens_required</c>, RFC 9728 §2). Off by default: bearer tokens and
    /// RFC 8705 certificate-bound tokens are accepted beside DPoP-bound ones, as RFC 9449 §7.2 allows.
    /// </summary>
    public bool RequireBoundTokens { get; set; }

    /// <summary>
    /// The origin (<c>scheme://host[:port]</c>) clients reach this server at, for the <c>htu</c> every proof must
    /// name (RFC 9449 §4.3 step 9): the <c>htu</c> is compared with this origin followed by the request's path base and
    /// path. Set it behind a reverse proxy or load balancer that terminates TLS or rewrites the host. Null (the default):
    /// the request's own scheme and <c>Host</c>, as ASP.NET Core sees them (after the forwarded-headers middleware and
    /// host filtering, when the application uses them). Either way the proof must also carry the hash of the token
    /// (<c>ath</c>), and the token's <c>aud</c> must name this resource, so a proof made for another server is only
    /// useful here with a token for this one.
    /// </summary>
    public Uri? PublicOrigin { get; set; }

    /// <summary>
    /// The accepted proof algorithms, advertised in every <c>WWW-Authenticate: DPoP</c> challenge (<c>algs</c>,
    /// RFC 9449 §7.1) and as <c>dpop_signing_alg_values_supported</c> in the protected resource metadata (RFC 9728 §2).
    /// Asymmetric algorithms of the broker's JOSE allow-list only. Default: ES256, ES384, ES512, PS256, PS384, PS512.
    /// </summary>
    public IList<string> Algorithms { get; } = ["ES256", "ES384", "ES512", "PS256", "PS384", "PS512"];

    /// <summary>
    /// How long after its <c>iat</c> a proof is accepted (RFC 9449 §11.1). Default 60 seconds; between 1 second and
    /// 10 minutes. Every proof accepted is remembered this long plus <see cref="ClockSkew"/>, to refuse its replay.
    /// </summary>
    public TimeSpan MaxProofAge { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How far in the future a proof's <c>iat</c> may be, for clients whose clocks run ahead. Default 10 seconds;
    /// between 0 and 5 minutes.
    /// </summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The HMAC-SHA256 key of this server's own DPoP nonces (RFC 9449 §9): when set, every proof must carry a nonce
    /// this server issued, and a proof without one, or with an old one, is answered 401 <c>use_dpop_nonce</c> with a
    /// fresh nonce in <c>DPoP-Nonce</c> (and every accepted DPoP request gets the current nonce back). At least 32
    /// random bytes, the same on every replica; from configuration as base64. Null (the default): no nonces, replay
    /// being stopped by <c>iat</c> and the replay cache.
    /// </summary>
    public byte[]? NonceKey { get; set; }

    /// <summary>
    /// The time step of this server's nonces: a nonce is accepted for one to two steps. Default 5 minutes; between
    /// 10 seconds and 1 hour. Only used with <see cref="NonceKey"/>.
    /// </summary>
    public TimeSpan NonceStep { get; set; } = TimeSpan.FromMinutes(5);
}
