// Broker.Jose — DPoP (RFC 9449).

using Microsoft.IdentityModel.Tokens;

namespace Broker.Jose.DPoP;

/// <summary>What <see cref="DPoPProofValidator"/> accepts. Immutable; share one instance.</summary>
public sealed class DPoPProofValidatorOptions
{
    private static readonly string[] DefaultAlgorithms =
    [
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
    ];

    private readonly string[] _algorithms = DefaultAlgorithms;
    private readonly int _maxProofLength = 8 * 1024;
    private readonly TimeSpan _maxAge = TimeSpan.FromSeconds(60);
    private readonly TimeSpan _clockSkew = TimeSpan.FromSeconds(10);
    private readonly int _maxJtiLength = 128;
    private readonly int _maxRsaKeySizeInBits = 4096;
    private readonly int _verifierCacheSize = 1024;

    /// <summary>
    /// The accepted proof <c>alg</c> values, advertised as <c>dpop_signing_alg_values_supported</c> (RFC 9449 §5.1) and
    /// in the <c>algs</c> of a <c>WWW-Authenticate: DPoP</c> challenge (§7.1). Each must be on
    /// <see cref="JoseAlgorithms.Allowed"/>, so none, HMAC or unknown algorithms can never be configured (RFC 9449 §11.6).
    /// Default ES256, ES384, ES512, PS256, PS384, PS512: a DPoP key is made by the client for this purpose, so there is
    /// no legacy to carry, and RSASSA-PKCS1-v1_5 (RS256, RS384, RS512) is left out as FAPI 2.0 leaves it out; add it
    /// for clients that only sign with it.
    /// </summary>
    /// <exception cref="ArgumentException">The list is empty or has a value off <see cref="JoseAlgorithms.Allowed"/>.</exception>
    public IReadOnlyList<string> Algorithms
    {
        get => _algorithms;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            string[] list = [.. value.Distinct(StringComparer.Ordinal)];
            if (list.Length == 0 || !list.All(JoseAlgorithms.IsAllowed))
            {
                throw new ArgumentException("dpop: proof algorithms must be a non-empty subset of JoseAlgorithms.Allowed.", nameof(value));
            }

            _algorithms = list;
        }
    }

    /// <summary>
    /// The longest proof read, in characters, checked before anything else. Default 8192, room for an RSA-4096 key and a
    /// long <c>htu</c>; between 1024 and 65536.
    /// </summary>
    public int MaxProofLength
    {
        get => _maxProofLength;
        init => _maxProofLength = value is >= 1024 and <= 64 * 1024
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), "dpop: MaxProofLength must be between 1024 and 65536.");
    }

    /// <summary>
    /// How long after its <c>iat</c> a proof is accepted (RFC 9449 §11.1: "on the order of seconds or minutes"). Default
    /// 60 seconds; between 1 second and 10 minutes.
    /// </summary>
    public TimeSpan MaxAge
    {
        get => _maxAge;
        init => _maxAge = value >= TimeSpan.FromSeconds(1) && value <= TimeSpan.FromMinutes(10)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), "dpop: MaxAge must be between 1 second and 10 minutes.");
    }

    /// <summary>
    /// How far in the future a proof's <c>iat</c> may be, for clients whose clocks run ahead (RFC 9449 §11.1). Default
    /// 10 seconds; between 0 and 5 minutes.
    /// </summary>
    public TimeSpan ClockSkew
    {
        get => _clockSkew;
        init => _clockSkew = value >= TimeSpan.Zero && value <= TimeSpan.FromMinutes(5)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), "dpop: ClockSkew must be between 0 and 5 minutes.");
    }

    /// <summary>
    /// The longest <c>jti</c> accepted, in characters (RFC 9449 §11.1: reject "unnecessarily large" values). Default
    /// 128, well above a UUID (36) or 256 random bits in base64url (43); between 16 and 1024.
    /// </summary>
    public int MaxJtiLength
    {
        get => _maxJtiLength;
        init => _maxJtiLength = value is >= 16 and <= 1024
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), "dpop: MaxJtiLength must be between 16 and 1024.");
    }

    /// <summary>
    /// The largest RSA modulus accepted in a proof's <c>jwk</c>, in bits: verification cost grows with it, and the key
    /// is the client's choice. Default 4096; between <see cref="JoseAlgorithms.MinimumRsaKeySizeInBits"/> and 16384.
    /// </summary>
    public int MaxRsaKeySizeInBits
    {
        get => _maxRsaKeySizeInBits;
        init => _maxRsaKeySizeInBits = value is >= JoseAlgorithms.MinimumRsaKeySizeInBits and <= 16384
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), "dpop: MaxRsaKeySizeInBits must be between 2048 and 16384.");
    }

    /// <summary>
    /// How many proof keys' verifiers (the imported public key and its signature provider) the validator keeps, by RFC
    /// 7638 thumbprint and <c>alg</c>, so a client that signs every proof with one key (RFC 9449 §2) has it imported
    /// once rather than per proof; an entry unused for 10 minutes is dropped. Bounded because the keys are the caller's
    /// choice: past the bound a new key is checked as if there were no cache and the least recently used entries make
    /// room. Default 1024 (a few MB at most); 0 turns the cache off; at most 1,000,000.
    /// </summary>
    public int VerifierCacheSize
    {
        get => _verifierCacheSize;
        init => _verifierCacheSize = value is >= 0 and <= 1_000_000
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), "dpop: VerifierCacheSize must be between 0 and 1000000.");
    }

    /// <summary>
    /// The width of the acceptance window, <see cref="MaxAge"/> plus <see cref="ClockSkew"/>: a proof first accepted now
    /// is accepted for at most this long. Replay cache entries live this long plus one second, so a proof stays
    /// recorded for as long as any <c>iat</c> it carries is accepted.
    /// </summary>
    public TimeSpan ReplayWindow => _maxAge + _clockSkew;
}
