using Broker.Jose.DPoP;

namespace Broker.DPoP;

/// <summary>
/// DPoP (RFC 9449) at the token endpoint, bound from <c>Broker:DPoP</c>. Defaults: <see cref="Algorithms"/> null (ES256,
/// ES384, ES512, PS256, PS384, PS512), <see cref="MaxAge"/> 60 seconds, <see cref="ClockSkew"/> 10 seconds,
/// <see cref="RequireNonce"/> false, <see cref="NonceStep"/> 5 minutes, <see cref="NonceKeyFile"/> none (a key shared
/// through Redis, or one per process with the in-memory store), <see cref="ReplayCacheCapacity"/> 100,000.
/// </summary>
/// <remarks>
/// A request that carries no <c>DPoP</c> header gets a bearer token as before, unless policy requires proof of
/// possession; one that carries a proof gets a token bound to the proof's key, or a refusal.
/// </remarks>
internal sealed class DPoPOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Broker:DPoP";

    /// <summary>
    /// The accepted proof algorithms, advertised as <c>dpop_signing_alg_values_supported</c> (RFC 9449 §5.1); null for
    /// the defaults of <see cref="DPoPProofValidatorOptions.Algorithms"/>. Asymmetric algorithms of the broker's
    /// allow-list only: none and HMAC cannot be configured (RFC 9449 §11.6).
    /// </summary>
    public string[]? Algorithms { get; set; }

    /// <summary>How long after its <c>iat</c> a proof is accepted (RFC 9449 §11.1). Between 1 second and 10 minutes.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How far in the future a proof's <c>iat</c> may be. Between 0 and 5 minutes.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Require a server nonce in every proof (RFC 9449 §8): a proof without one, or with one no replica issued within
    /// the last one or two <see cref="NonceStep"/>s, is answered 400 <c>use_dpop_nonce</c> with a fresh nonce in
    /// <c>DPoP-Nonce</c>. Bounds how far ahead a compromised client can make proofs (§11.2) at the cost of one extra
    /// round trip per client per step.
    /// </summary>
    public bool RequireNonce { get; set; }

    /// <summary>The time step a nonce belongs to (<see cref="DPoPNonceOptions.Step"/>). Between 10 seconds and 1 hour.</summary>
    public TimeSpan NonceStep { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A file whose bytes (at least 32, random) are the HMAC key of the nonces, the same on every replica. Optional:
    /// without it the first replica to need the key stores 32 random bytes in Redis (<c>SET NX</c>) and every replica
    /// reads them; with the in-memory store each process makes its own.
    /// </summary>
    public string? NonceKeyFile { get; set; }

    /// <summary>
    /// The most proofs the in-memory replay cache holds within one window (<see cref="InMemoryDPoPReplayCache"/>); when
    /// full, proofs are refused (503) rather than replay protection weakened. Unused with Redis. At least 1000.
    /// </summary>
    public int ReplayCacheCapacity { get; set; } = InMemoryDPoPReplayCache.DefaultCapacity;

    /// <summary>The validator's options, for a configuration <see cref="DPoPOptionsValidator"/> accepted.</summary>
    internal DPoPProofValidatorOptions ToValidatorOptions() => Algorithms is { Length: > 0 } algorithms
        ? new DPoPProofValidatorOptions { Algorithms = algorithms, MaxAge = MaxAge, ClockSkew = ClockSkew }
        : new DPoPProofValidatorOptions { MaxAge = MaxAge, ClockSkew = ClockSkew };
}
