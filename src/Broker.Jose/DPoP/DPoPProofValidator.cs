// Broker.Jose — DPoP (RFC 9449).

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Jose.Internal;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Jose.DPoP;

/// <summary>
/// Checks a DPoP proof (RFC 9449 §4.3) against the request it came with, and records it in the replay cache. Used at
/// the token endpoint (to bind a token to the proof's key) and at a resource server (with <c>ath</c>, then comparing
/// the thumbprint with the token's <c>cnf.jkt</c>). Thread-safe; share one instance.
/// </summary>
/// <remarks>
/// <para>The checks, in order, each failing with its own <see cref="DPoPProofError"/>:</para>
/// <list type="number">
/// <item>exactly one <c>DPoP</c> header value, not a comma-joined list (§4.3 step 1);</item>
/// <item>at most <see cref="DPoPProofValidatorOptions.MaxProofLength"/> characters, then the strict gate of
/// <see cref="CompactJws.TryRead"/>: one compact JWS, canonical base64url, one JSON object per segment without repeated
/// members, no <c>crit</c> (step 2);</item>
/// <item><c>typ</c> exactly <c>dpop+jwt</c> (step 4, §11.5);</item>
/// <item><c>alg</c> in <see cref="DPoPProofValidatorOptions.Algorithms"/>, a subset of the asymmetric
/// <see cref="JoseAlgorithms.Allowed"/> (step 5, §11.6);</item>
/// <item><c>jwk</c> present, with no private member, a public EC or RSA key in canonical form that fits <c>alg</c>
/// (step 7);</item>
/// <item>the signature verifies with <c>jwk</c> (step 6);</item>
/// <item><c>jti</c>, <c>htm</c>, <c>htu</c>, <c>iat</c> present and well typed (step 3);</item>
/// <item><c>htm</c> is the method, <c>htu</c> the URI, both normalised by <see cref="DPoPHtu"/> (steps 8, 9);</item>
/// <item><c>nonce</c> is a current nonce of this server, when one is configured (step 10, §8, §11.3);</item>
/// <item><c>iat</c> within [now − <see cref="DPoPProofValidatorOptions.MaxAge"/>, now +
/// <see cref="DPoPProofValidatorOptions.ClockSkew"/>] (step 11, §11.1);</item>
/// <item><c>ath</c> is the hash of the access token, when one is presented (step 12, §7);</item>
/// <item>the key and <c>jti</c> were not seen within the window (§11.1).</item>
/// </list>
/// <para>
/// The signature is checked before any claim, so an unsigned or forged proof is reported as such whatever it claims;
/// the replay cache is written last, so only a proof that passed everything else takes an entry. Comparing the
/// thumbprint with a token's <c>cnf.jkt</c> (step 12, second half) is the caller's, who has the token.
/// </para>
/// <para>
/// Importing the proof's key is most of the cost of a check, and a client signs every proof with the same key, so the
/// verifier of each key is kept, bounded by <see cref="DPoPProofValidatorOptions.VerifierCacheSize"/>, once a proof
/// signed with it has verified; every check still reads and checks the proof's <c>jwk</c> and verifies its signature.
/// </para>
/// </remarks>
public sealed class DPoPProofValidator
{
    private static readonly TimeSpan ReplayMargin = TimeSpan.FromSeconds(1);

    private readonly IDPoPReplayCache _replayCache;
    private readonly TimeProvider _timeProvider;
    private readonly DPoPNonce? _nonce;
    private readonly CompactJwsOptions _gate;
    private readonly DPoPVerifierCache? _verifiers;

    /// <summary>Creates a validator.</summary>
    /// <param name="options">What to accept.</param>
    /// <param name="replayCache">Where accepted proofs are recorded; shared by every replica behind the same endpoints.</param>
    /// <param name="timeProvider">The clock <c>iat</c> is checked against.</param>
    /// <param name="nonce">Server nonces to require in every proof; null (the default) requires none.</param>
    public DPoPProofValidator(DPoPProofValidatorOptions options, IDPoPReplayCache replayCache, TimeProvider timeProvider, DPoPNonce? nonce = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(replayCache);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Options = options;
        _replayCache = replayCache;
        _timeProvider = timeProvider;
        _nonce = nonce;
        _gate = new CompactJwsOptions
        {
            MaxTokenLength = options.MaxProofLength,
            AcceptedTypes = JwsTypes.DpopProof,
            RequireKeyId = false,
        };
        _verifiers = options.VerifierCacheSize > 0 ? new DPoPVerifierCache(options.VerifierCacheSize, timeProvider) : null;
    }

    /// <summary>What this validator accepts.</summary>
    public DPoPProofValidatorOptions Options { get; }

    /// <summary>The verifiers of recent proof keys; null when <see cref="DPoPProofValidatorOptions.VerifierCacheSize"/> is 0.</summary>
    internal DPoPVerifierCache? VerifierCache => _verifiers;

    /// <summary>True when every proof must carry a nonce of this server (a <see cref="DPoPNonce"/> was given).</summary>
    public bool RequiresNonce => _nonce is not null;

    /// <summary>Checks the proof of one request.</summary>
    /// <param name="proofs">
    /// Every value of the request's <c>DPoP</c> header, as received (ASP.NET Core's <c>StringValues</c> is such a list);
    /// exactly one is accepted.
    /// </param>
    /// <param name="method">The request's method, such as <c>POST</c>; compared with <c>htm</c> exactly (RFC 9110 §9.1).</param>
    /// <param name="requestUri">
    /// The absolute URI the request was sent to, query and fragment ignored. Build it from the server's configured public
    /// origin and the request's path, not from its <c>Host</c> header alone (see <see cref="DPoPHtu"/>).
    /// </param>
    /// <param name="accessToken">
    /// The access token presented with the proof at a resource server, whose hash <c>ath</c> must carry (RFC 9449 §7);
    /// null at the token endpoint, where <c>ath</c> is not checked.
    /// </param>
    /// <param name="cancellationToken">Cancels the replay cache operation.</param>
    /// <returns><see cref="DPoPProofResult.Valid"/> with the key's thumbprint, or <see cref="DPoPProofResult.Invalid"/> with the reason.</returns>
    /// <exception cref="ArgumentException"><paramref name="method"/> is empty or <paramref name="requestUri"/> is no absolute http(s) URI.</exception>
    public async ValueTask<DPoPProofResult> ValidateAsync(
        IReadOnlyList<string?> proofs,
        string method,
        string requestUri,
        string? accessToken = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(proofs);
        ArgumentException.ThrowIfNullOrEmpty(method);
        if (!DPoPHtu.TryNormalize(requestUri, out var expectedHtu))
        {
            throw new ArgumentException("dpop: the request URI must be an absolute http(s) URI.", nameof(requestUri));
        }

        var error = Check(proofs, method, expectedHtu, accessToken, out var jws, out var thumbprint);
        if (error != DPoPProofError.None)
        {
            return new DPoPProofResult.Invalid(error);
        }

        // :: Replay (§11.1), last: an entry for as long as any iat this proof carries would be accepted, plus a margin
        // so no rounding at the window's edge lets the proof outlive its entry.
        bool first;
        try
        {
            first = await _replayCache.TryAddAsync(DPoPHashes.ReplayKey(thumbprint!, jws!.JwtId!), Options.ReplayWindow + ReplayMargin, cancellationToken);
        }
        catch (DPoPReplayCacheUnavailableException)
        {
            return new DPoPProofResult.Invalid(DPoPProofError.ReplayCacheUnavailable);
        }

        if (!first)
        {
            return new DPoPProofResult.Invalid(DPoPProofError.ReplayedJti);
        }

        var issuedAt = DateTimeOffset.UnixEpoch.AddSeconds(jws.IssuedAt!.Value);
        return new DPoPProofResult.Valid(thumbprint!, jws.JwtId!, jws.Algorithm, issuedAt);
    }

    private DPoPProofError Check(IReadOnlyList<string?> proofs, string method, string expectedHtu, string? accessToken, out CompactJws? jws, out string? thumbprint)
    {
        jws = null;
        thumbprint = null;

        // :: Step 1: one header field. A proxy may join repeated fields with commas (RFC 9110 §5.3); a JWS has none.
        if (proofs.Count == 0 || string.IsNullOrEmpty(proofs[0]))
        {
            return proofs.Count > 1 ? DPoPProofError.MultipleProofs : DPoPProofError.MissingProof;
        }

        if (proofs.Count > 1)
        {
            return DPoPProofError.MultipleProofs;
        }

        var proof = proofs[0]!;
        if (proof.Length > Options.MaxProofLength)
        {
            return DPoPProofError.OversizedProof;
        }

        if (proof.Contains(',', StringComparison.Ordinal))
        {
            return DPoPProofError.MultipleProofs;
        }

        // :: Step 2: one well-formed JWT, through the gate every presented JWT passes. It refuses alg none, HMAC and
        // unknown algorithms, and any typ but dpop+jwt, before anything else is read.
        if (!CompactJws.TryRead(proof, _gate, out jws, out var jwsError))
        {
            return jwsError switch
            {
                JwsError.TooLarge => DPoPProofError.OversizedProof,
                JwsError.UnsupportedAlgorithm => DPoPProofError.DisallowedAlgorithm,
                JwsError.UnsupportedType => DPoPProofError.BadType,
                _ => DPoPProofError.MalformedProof,
            };
        }

        // :: Step 4: "has the value dpop+jwt". The gate also takes application/dpop+jwt and other casings (RFC 7515
        // §4.1.9); a proof is held to the exact value.
        if (!string.Equals(jws.Type, DPoPConstants.ProofType, StringComparison.Ordinal))
        {
            return DPoPProofError.BadType;
        }

        // :: Step 5: acceptable per local policy.
        if (!Options.Algorithms.Contains(jws.Algorithm))
        {
            return DPoPProofError.DisallowedAlgorithm;
        }

        // :: Step 7, and the key's fit to alg.
        var error = DPoPJwk.TryRead(jws.Header.Span, jws.Algorithm, Options.MaxRsaKeySizeInBits, out var key);
        if (error != DPoPProofError.None)
        {
            return error;
        }

        // :: Step 6, with the verifier imported for an earlier proof by the same key when there is one.
        thumbprint = DPoPJwk.Thumbprint(key!);
        if (!VerifySignature(jws, key!, thumbprint))
        {
            thumbprint = null;
            return DPoPProofError.BadSignature;
        }

        // :: Step 3: the required claims, well typed. The gate has checked that jti is a string and iat a NumericDate.
        var claims = ReadClaims(jws.Payload.Span);
        if (claims.TypeError)
        {
            return DPoPProofError.InvalidClaim;
        }

        if (jws.JwtId is null || claims.Htm is null || claims.Htu is null || jws.IssuedAt is null)
        {
            return DPoPProofError.MissingClaim;
        }

        if (jws.JwtId.Length == 0 || jws.JwtId.Length > Options.MaxJtiLength)
        {
            return DPoPProofError.InvalidClaim;
        }

        // :: Step 8: methods are case-sensitive (RFC 9110 §9.1).
        if (!string.Equals(claims.Htm, method, StringComparison.Ordinal))
        {
            return DPoPProofError.WrongHtm;
        }

        // :: Step 9: both sides normalised alike, query and fragment ignored.
        if (!DPoPHtu.TryNormalize(claims.Htu, out var htu))
        {
            return DPoPProofError.InvalidClaim;
        }

        if (!string.Equals(htu, expectedHtu, StringComparison.Ordinal))
        {
            return DPoPProofError.WrongHtu;
        }

        // :: Step 10: once the server hands out nonces, no proof without one (§11.3).
        if (_nonce is not null)
        {
            switch (_nonce.Check(claims.Nonce))
            {
                case DPoPNonceCheck.Missing:
                    return DPoPProofError.MissingNonce;
                case DPoPNonceCheck.Stale:
                    return DPoPProofError.StaleNonce;
                case DPoPNonceCheck.Invalid:
                    return DPoPProofError.WrongNonce;
            }
        }

        // :: Step 11: iat within the window (§11.1), in fractional seconds as RFC 7519 §2 allows.
        var now = (_timeProvider.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerSecond;
        if (jws.IssuedAt.Value > now + Options.ClockSkew.TotalSeconds)
        {
            return DPoPProofError.FutureIssuedAt;
        }

        if (jws.IssuedAt.Value < now - Options.MaxAge.TotalSeconds)
        {
            return DPoPProofError.StaleIssuedAt;
        }

        // :: Step 12, first half: ath binds the proof to the token presented with it (§7), compared in constant time.
        if (accessToken is not null)
        {
            if (claims.Ath is null)
            {
                return DPoPProofError.MissingAth;
            }

            var expected = Encoding.ASCII.GetBytes(DPoPHashes.AccessTokenHash(accessToken));
            if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.UTF8.GetBytes(claims.Ath)))
            {
                return DPoPProofError.WrongAth;
            }
        }

        return DPoPProofError.None;
    }

    /// <summary>
    /// Verifies the proof's signature with <paramref name="key"/>, which fits the proof's <c>alg</c>: through the cached
    /// verifier of its thumbprint, or by importing it, then caching the verifier once the signature has verified.
    /// </summary>
    private bool VerifySignature(CompactJws jws, JsonWebKey key, string thumbprint)
    {
        if (_verifiers is null)
        {
            return jws.VerifySignature(key);
        }

        // A hit skips only the import: the JWK was read and checked against alg above, and the thumbprint names that
        // exact key (canonical members only, RFC 7638 §3), so the cached verifier is for the very same public key.
        if (_verifiers.Get(thumbprint, jws.Algorithm) is { } cached)
        {
            return jws.VerifySignature(cached);
        }

        var factory = key.CryptoProviderFactory;
        SignatureProvider provider;
        try
        {
            provider = factory.CreateForVerifying(key, jws.Algorithm);
        }
        catch (Exception ex) when (ex is NotSupportedException or ArgumentException or CryptographicException or InvalidOperationException)
        {
            return false;
        }

        if (!jws.VerifySignature(provider))
        {
            factory.ReleaseSignatureProvider(provider);
            return false;
        }

        _verifiers.Add(thumbprint, jws.Algorithm, provider);
        return true;
    }

    private static Claims ReadClaims(ReadOnlySpan<byte> payload)
    {
        var claims = default(Claims);
        var reader = new Utf8JsonReader(payload, StrictJson.ReaderOptions);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("htm"u8))
            {
                claims.Htm = ReadString(ref reader, ref claims.TypeError);
            }
            else if (reader.ValueTextEquals("htu"u8))
            {
                claims.Htu = ReadString(ref reader, ref claims.TypeError);
            }
            else if (reader.ValueTextEquals("ath"u8))
            {
                claims.Ath = ReadString(ref reader, ref claims.TypeError);
            }
            else if (reader.ValueTextEquals("nonce"u8))
            {
                claims.Nonce = ReadString(ref reader, ref claims.TypeError);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return claims;
    }

    private static string? ReadString(ref Utf8JsonReader reader, ref bool error)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        error = true;
        reader.Skip();
        return null;
    }

    private struct Claims
    {
        public string? Htm;
        public string? Htu;
        public string? Ath;
        public string? Nonce;
        public bool TypeError;
    }
}
