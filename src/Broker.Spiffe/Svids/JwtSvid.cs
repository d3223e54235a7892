// Broker.Spiffe — SPIFFE for .NET.

using System.Buffers;
using System.Buffers.Text;
using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using Broker.Spiffe.Bundles;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Spiffe.Svids;

/// <summary>
/// A JWT-SVID (SPIFFE JWT-SVID standard; spec §3): a compact JWS whose <c>sub</c> is a SPIFFE ID.
/// </summary>
public sealed class JwtSvid
{
    private static readonly FrozenDictionary<JwtSvidValidationError, JwtSvidValidationFailure> Failures = new Dictionary<JwtSvidValidationError, string>
    {
        [JwtSvidValidationError.Malformed] = "jwtsvid: token is malformed.",
        [JwtSvidValidationError.TooLarge] = "jwtsvid: token is too large.",
        [JwtSvidValidationError.UnsupportedAlgorithm] = "jwtsvid: unsupported signing algorithm.",
        [JwtSvidValidationError.UnsupportedType] = "jwtsvid: unsupported token type (typ).",
        [JwtSvidValidationError.MissingKeyId] = "jwtsvid: token header has no key ID (kid).",
        [JwtSvidValidationError.MissingSubject] = "jwtsvid: token has no subject (sub).",
        [JwtSvidValidationError.InvalidSubject] = "jwtsvid: subject is not a valid SPIFFE ID.",
        [JwtSvidValidationError.UnknownTrustDomain] = "jwtsvid: no bundle for the subject's trust domain.",
        [JwtSvidValidationError.UnknownKey] = "jwtsvid: no authority with the token's key ID in the trust domain's bundle.",
        [JwtSvidValidationError.KeyAlgorithmMismatch] = "jwtsvid: authority key type does not match the signing algorithm.",
        [JwtSvidValidationError.InvalidSignature] = "jwtsvid: signature is invalid.",
        [JwtSvidValidationError.MissingAudience] = "jwtsvid: token has no audience (aud).",
        [JwtSvidValidationError.AudienceMismatch] = "jwtsvid: token audience does not match.",
        [JwtSvidValidationError.MissingExpiry] = "jwtsvid: token has no expiry (exp).",
        [JwtSvidValidationError.Expired] = "jwtsvid: token has expired.",
        [JwtSvidValidationError.NotYetValid] = "jwtsvid: token is not valid yet (nbf).",
        [JwtSvidValidationError.IssuedInFuture] = "jwtsvid: token is issued in the future (iat).",
        [JwtSvidValidationError.UnsupportedCriticalHeader] = "jwtsvid: token has an unsupported critical header (crit).",
    }.ToFrozenDictionary(kv => kv.Key, kv => new JwtSvidValidationFailure(kv.Key, kv.Value));

    // The largest NumericDate DateTimeOffset can hold (9999-12-31T23:59:59Z).
    private const double MaxNumericDate = 253402300799;

    private JwtSvid(SpiffeId id, IReadOnlyList<string> audience, DateTimeOffset expiry, string keyId, JsonWebToken token)
    {
        Id = id;
        Audience = audience;
        Expiry = expiry;
        KeyId = keyId;
        Token = token;
    }

    /// <summary>The SPIFFE ID of the subject (<c>sub</c>).</summary>
    public SpiffeId Id { get; }

    /// <summary>The audiences (<c>aud</c>), in token order.</summary>
    public IReadOnlyList<string> Audience { get; }

    /// <summary>The expiry (<c>exp</c>), to the second.</summary>
    public DateTimeOffset Expiry { get; }

    /// <summary>The key ID (<c>kid</c>) of the signing authority.</summary>
    public string KeyId { get; }

    /// <summary>The parsed token, for reading other claims. Its <c>ToString()</c> omits the signature; do not log <see cref="JsonWebToken.EncodedToken"/>.</summary>
    public JsonWebToken Token { get; }

    /// <summary>The Workload API's hint for this SVID, if it came from there (spec §1); otherwise null.</summary>
    public string? Hint { get; init; }

    /// <summary>A copy carrying the Workload API's hint.</summary>
    internal JwtSvid WithHint(string hint) => new(Id, Audience, Expiry, KeyId, Token) { Hint = hint };

    /// <summary>Returns the compact JWS, to send as <c>Authorization: Bearer</c>. It is a credential: never log it.</summary>
    public string Marshal() => Token.EncodedToken;

    /// <summary>
    /// Validates a JWT-SVID per spec §3 against the JWT bundle of its subject's trust domain.
    /// </summary>
    /// <remarks>
    /// Order: size; compact JWS; <c>alg</c> allow-list (before any key is touched, so <c>none</c> and HMAC
    /// never reach a key); <c>crit</c>; <c>typ</c>; <c>kid</c>; <c>sub</c>; bundle of the <c>sub</c>'s trust
    /// domain (never <c>iss</c>); key by <c>kid</c>; key type fits <c>alg</c>; <c>aud</c>; <c>exp</c>;
    /// <c>nbf</c>; <c>iat</c>; and only then the signature. All claim checks are cheap, so a flood of stale
    /// or misdirected tokens costs no public-key operation; a token that fails several checks reports the
    /// first. Failures allocate nothing beyond the parsed token.
    /// </remarks>
    /// <param name="token">The compact JWS.</param>
    /// <param name="bundles">The JWT bundles of the trust domains this validator trusts.</param>
    /// <param name="audiences">The audiences this validator answers to; the token must name at least one. Must not be empty.</param>
    /// <param name="options">Size limit, clock skew and clock; null for the defaults.</param>
    /// <exception cref="ArgumentException"><paramref name="audiences"/> is empty.</exception>
    public static JwtSvidValidationResult Validate(
        string token,
        IJwtBundleSource bundles,
        IReadOnlyCollection<string> audiences,
        JwtSvidValidationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        ArgumentNullException.ThrowIfNull(audiences);
        if (audiences.Count == 0)
        {
            // A validator that accepts any audience would accept tokens minted for someone else (spec §3).
            throw new ArgumentException("jwtsvid: at least one expected audience is required.", nameof(audiences));
        }

        options ??= JwtSvidValidationOptions.Default;
        var error = Check(token, options.MaxTokenLength, out var parsed);
        if (error != 0)
        {
            return Failures[error];
        }

        var p = parsed!.Value;

        // The trust domain of sub selects the bundle; iss is not part of JWT-SVID trust (spec §3).
        if (!bundles.TryGetJwtBundle(p.Id.TrustDomain, out var bundle))
        {
            return Failures[JwtSvidValidationError.UnknownTrustDomain];
        }

        if (!bundle.TryGetAuthority(p.KeyId, out var key))
        {
            return Failures[JwtSvidValidationError.UnknownKey];
        }

        if (!KeyFitsAlgorithm(key, p.Algorithm))
        {
            return Failures[JwtSvidValidationError.KeyAlgorithmMismatch];
        }

        if (!ContainsAny(p.Audience, audiences))
        {
            return Failures[JwtSvidValidationError.AudienceMismatch];
        }

        // RFC 7519 §4.1.4-6, with bounded leeway.
        var now = options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        var skew = options.ClockSkew.TotalSeconds;
        if (now >= p.Exp + skew)
        {
            return Failures[JwtSvidValidationError.Expired];
        }

        if (p.Nbf is { } nbf && nbf > now + skew)
        {
            return Failures[JwtSvidValidationError.NotYetValid];
        }

        if (p.Iat is { } iat && iat > now + skew)
        {
            return Failures[JwtSvidValidationError.IssuedInFuture];
        }

        if (!VerifySignature(token, p.Token, key, p.Algorithm))
        {
            return Failures[JwtSvidValidationError.InvalidSignature];
        }

        return new JwtSvidValidationSuccess(p.ToSvid());
    }

    /// <summary>
    /// Parses a JWT-SVID WITHOUT verifying its signature, audience or lifetime. Unsafe: only for tokens that
    /// were already validated elsewhere, such as the token passed to the Workload API's ValidateJWTSVID.
    /// Structure is still checked (compact JWS, allowed <c>alg</c>, <c>typ</c>, <c>kid</c>, <c>sub</c>, <c>aud</c>, <c>exp</c>).
    /// </summary>
    /// <exception cref="FormatException">The token is not a structurally valid JWT-SVID (message prefixed <c>jwtsvid:</c>, never containing the token).</exception>
    public static JwtSvid ParseInsecure(string token)
    {
        var error = Check(token, 1024 * 1024, out var parsed);
        return error == 0 ? parsed!.Value.ToSvid() : throw new FormatException(Failures[error].Message);
    }

    /// <summary>The structural checks shared by both entry points; returns 0 on success.</summary>
    private static JwtSvidValidationError Check(string token, int maxLength, out Parsed? parsed)
    {
        parsed = null;
        if (string.IsNullOrEmpty(token))
        {
            return JwtSvidValidationError.Malformed;
        }

        // Size first: nothing else runs on an oversized input.
        if (token.Length > maxLength)
        {
            return JwtSvidValidationError.TooLarge;
        }

        // Compact JWS: exactly three parts, i.e. one signature (spec §3). JWE (five parts) and the JSON serialisation fail here.
        // An empty signature passes this step so that alg "none" is reported as what it is, an unsupported algorithm.
        var dot1 = token.IndexOf('.', StringComparison.Ordinal);
        var dot2 = dot1 < 0 ? -1 : token.IndexOf('.', dot1 + 1);
        if (dot1 <= 0 || dot2 < 0 || dot2 == dot1 + 1 || token.IndexOf('.', dot2 + 1) >= 0)
        {
            return JwtSvidValidationError.Malformed;
        }

        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(token);
        }
        catch (ArgumentException)
        {
            // SecurityTokenMalformedException derives from ArgumentException.
            return JwtSvidValidationError.Malformed;
        }

        // The allow-list comes before every other check that involves keys (spec §3): "none" and HS* never get further.
        if (!TryGetHeaderString(jwt, JwtHeaderParameterNames.Alg, out var alg, out var present) || !present)
        {
            return present ? JwtSvidValidationError.Malformed : JwtSvidValidationError.UnsupportedAlgorithm;
        }

        if (!IsAllowedAlgorithm(alg))
        {
            return JwtSvidValidationError.UnsupportedAlgorithm;
        }

        // RFC 7515 §4.1.11: a recipient that does not understand a critical extension must reject the JWS; we understand none.
        if (jwt.TryGetHeaderValue<object>("crit", out _))
        {
            return JwtSvidValidationError.UnsupportedCriticalHeader;
        }

        if (!TryGetHeaderString(jwt, JwtHeaderParameterNames.Typ, out var typ, out present))
        {
            return JwtSvidValidationError.Malformed;
        }

        if (present && typ is not ("JWT" or "JOSE"))
        {
            return JwtSvidValidationError.UnsupportedType;
        }

        // kid is optional in the JWT-SVID text, but JWT authorities must have one and SPIRE and go-spiffe require it (spec §3).
        if (!TryGetHeaderString(jwt, JwtHeaderParameterNames.Kid, out var kid, out present))
        {
            return JwtSvidValidationError.Malformed;
        }

        if (!present || kid.Length == 0)
        {
            return JwtSvidValidationError.MissingKeyId;
        }

        if (!TryGetPayloadString(jwt, JwtRegisteredClaimNames.Sub, out var sub, out present))
        {
            return JwtSvidValidationError.Malformed;
        }

        if (!present)
        {
            return JwtSvidValidationError.MissingSubject;
        }

        if (!SpiffeId.TryParse(sub, out var id))
        {
            return JwtSvidValidationError.InvalidSubject;
        }

        var audError = ReadAudience(jwt, out var audience);
        if (audError != 0)
        {
            return audError;
        }

        if (!TryGetNumericDate(jwt, JwtRegisteredClaimNames.Exp, out var exp, out present))
        {
            return JwtSvidValidationError.Malformed;
        }

        if (!present)
        {
            return JwtSvidValidationError.MissingExpiry;
        }

        if (!TryGetNumericDate(jwt, JwtRegisteredClaimNames.Nbf, out var nbf, out var hasNbf)
            || !TryGetNumericDate(jwt, JwtRegisteredClaimNames.Iat, out var iat, out var hasIat))
        {
            return JwtSvidValidationError.Malformed;
        }

        parsed = new Parsed(jwt, id, alg, kid, audience, exp, hasNbf ? nbf : null, hasIat ? iat : null);
        return 0;
    }

    private static bool IsAllowedAlgorithm(string alg) => alg is
        SecurityAlgorithms.RsaSha256 or SecurityAlgorithms.RsaSha384 or SecurityAlgorithms.RsaSha512
        or SecurityAlgorithms.EcdsaSha256 or SecurityAlgorithms.EcdsaSha384 or SecurityAlgorithms.EcdsaSha512
        or SecurityAlgorithms.RsaSsaPssSha256 or SecurityAlgorithms.RsaSsaPssSha384 or SecurityAlgorithms.RsaSsaPssSha512;

    /// <summary>ES256/384/512 need an EC key on P-256/384/521; RS* and PS* need an RSA key (spec §3).</summary>
    private static bool KeyFitsAlgorithm(JsonWebKey key, string alg)
    {
        // A JWK that pins its own "alg" may be used with that algorithm only (RFC 7517 §4.4).
        if (!string.IsNullOrEmpty(key.Alg) && !string.Equals(key.Alg, alg, StringComparison.Ordinal))
        {
            return false;
        }

        return alg switch
        {
            SecurityAlgorithms.EcdsaSha256 => IsEc(key, JsonWebKeyECTypes.P256),
            SecurityAlgorithms.EcdsaSha384 => IsEc(key, JsonWebKeyECTypes.P384),
            SecurityAlgorithms.EcdsaSha512 => IsEc(key, JsonWebKeyECTypes.P521),
            _ => key.Kty == JsonWebAlgorithmsKeyTypes.RSA,
        };

        static bool IsEc(JsonWebKey key, string crv) =>
            key.Kty == JsonWebAlgorithmsKeyTypes.EllipticCurve && key.Crv == crv;
    }

    private static bool ContainsAny(IReadOnlyList<string> tokenAudience, IReadOnlyCollection<string> expected)
    {
        // Both lists are tiny (usually one entry each); a nested loop beats building a set.
        foreach (var aud in tokenAudience)
        {
            foreach (var want in expected)
            {
                if (string.Equals(aud, want, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool VerifySignature(string token, JsonWebToken jwt, JsonWebKey key, string alg)
    {
        var factory = key.CryptoProviderFactory ?? CryptoProviderFactory.Default;
        SignatureProvider provider;
        try
        {
            // The default factory caches one provider per (key, alg), so the key is imported once, not per token.
            provider = factory.CreateForVerifying(key, alg);
        }
        catch (Exception ex) when (ex is NotSupportedException or ArgumentException or CryptographicException or InvalidOperationException)
        {
            return false;
        }

        // The signing input is the ASCII of "header.payload"; the signature is the base64url third part (RFC 7515 §5.2).
        // Pooled buffers keep the hot path free of per-token arrays. The signature gets its own buffer at offset 0:
        // Microsoft.IdentityModel 8.23's ECDSA verification ignores a non-zero signature offset.
        var inputLength = jwt.EncodedHeader.Length + 1 + jwt.EncodedPayload.Length;
        var signatureChars = token.AsSpan(inputLength + 1);
        var input = ArrayPool<byte>.Shared.Rent(inputLength);
        var signature = ArrayPool<byte>.Shared.Rent(Base64Url.GetMaxDecodedLength(signatureChars.Length) + 1);
        try
        {
            var written = Encoding.ASCII.GetBytes(token.AsSpan(0, inputLength), input);
            if (written != inputLength
                || Base64Url.DecodeFromChars(signatureChars, signature, out _, out var signatureLength) != OperationStatus.Done
                || signatureLength == 0)
            {
                return false;
            }

            return provider.Verify(input, 0, inputLength, signature, 0, signatureLength);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or NotSupportedException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(signature);
            factory.ReleaseSignatureProvider(provider);
        }
    }

    private static JwtSvidValidationError ReadAudience(JsonWebToken jwt, out IReadOnlyList<string> audience)
    {
        audience = [];
        if (!jwt.TryGetPayloadValue<object>(JwtRegisteredClaimNames.Aud, out var raw) || raw is null)
        {
            return JwtSvidValidationError.MissingAudience;
        }

        // aud is a string or an array of strings (RFC 7519 §4.1.3); anything else is malformed.
        switch (raw)
        {
            case string single:
                if (single.Length == 0)
                {
                    return JwtSvidValidationError.MissingAudience;
                }

                audience = [single];
                return 0;
            case IEnumerable<object> many:
                var list = new List<string>();
                foreach (var item in many)
                {
                    if (item is not string s)
                    {
                        return JwtSvidValidationError.Malformed;
                    }

                    if (s.Length > 0)
                    {
                        list.Add(s);
                    }
                }

                if (list.Count == 0)
                {
                    return JwtSvidValidationError.MissingAudience;
                }

                audience = list;
                return 0;
            default:
                return JwtSvidValidationError.Malformed;
        }
    }

    private static bool TryGetHeaderString(JsonWebToken jwt, string name, out string value, out bool present) =>
        AsString(jwt.TryGetHeaderValue<object>(name, out var raw) ? raw : null, out value, out present);

    private static bool TryGetPayloadString(JsonWebToken jwt, string name, out string value, out bool present) =>
        AsString(jwt.TryGetPayloadValue<object>(name, out var raw) ? raw : null, out value, out present);

    /// <summary>Absent is fine (true, not present); present must be a JSON string.</summary>
    private static bool AsString(object? raw, out string value, out bool present)
    {
        value = raw as string ?? string.Empty;
        present = raw is not null;
        return raw is null or string;
    }

    /// <summary>Reads a NumericDate (RFC 7519 §2): a JSON number of seconds, possibly fractional.</summary>
    private static bool TryGetNumericDate(JsonWebToken jwt, string name, out double value, out bool present)
    {
        value = 0;
        present = jwt.TryGetPayloadValue<object>(name, out var raw) && raw is not null;
        if (!present)
        {
            return true;
        }

        value = raw switch
        {
            int i => i,
            long l => l,
            double d => d,
            decimal m => (double)m,
            float f => f,
            ulong u => u,
            _ => double.NaN,
        };

        // Negative or beyond year 9999 cannot be represented and is not a date any issuer means.
        return value is >= 0 and <= MaxNumericDate;
    }

    private readonly record struct Parsed(
        JsonWebToken Token,
        SpiffeId Id,
        string Algorithm,
        string KeyId,
        IReadOnlyList<string> Audience,
        double Exp,
        double? Nbf,
        double? Iat)
    {
        public JwtSvid ToSvid() =>
            new(Id, Audience, DateTimeOffset.FromUnixTimeSeconds((long)Exp), KeyId, Token);
    }
}
