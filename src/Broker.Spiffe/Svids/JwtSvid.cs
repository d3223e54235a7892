// Broker.Spiffe — SPIFFE for .NET.

using System.Collections.Frozen;
using Broker.Jose;
using Broker.Spiffe.Bundles;
using Microsoft.IdentityModel.JsonWebTokens;

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
        [JwtSvidValidationError.InvalidEncoding] = "jwtsvid: token is not canonical unpadded base64url.",
        [JwtSvidValidationError.InvalidJson] = "jwtsvid: token header or claims are not a JSON object in UTF-8.",
        [JwtSvidValidationError.TrailingData] = "jwtsvid: token header or claims have data after the JSON object.",
        [JwtSvidValidationError.DuplicateMember] = "jwtsvid: token header or claims repeat a member name.",
        [JwtSvidValidationError.InvalidClaimType] = "jwtsvid: a header parameter or claim has the wrong JSON type.",
        [JwtSvidValidationError.InvalidNumericDate] = "jwtsvid: exp, nbf or iat is not a NumericDate.",
    }.ToFrozenDictionary(kv => kv.Key, kv => new JwtSvidValidationFailure(kv.Key, kv.Value));

    private static readonly CompactJwsOptions InsecureReaderOptions = new() { MaxTokenLength = 1024 * 1024 };

    private readonly string _token;
    private JsonWebToken? _parsed;

    private JwtSvid(SpiffeId id, IReadOnlyList<string> audience, DateTimeOffset expiry, string keyId, string token)
    {
        Id = id;
        Audience = audience;
        Expiry = expiry;
        KeyId = keyId;
        _token = token;
    }

    /// <summary>The SPIFFE ID of the subject (<c>sub</c>).</summary>
    public SpiffeId Id { get; }

    /// <summary>The audiences (<c>aud</c>), in token order.</summary>
    public IReadOnlyList<string> Audience { get; }

    /// <summary>The expiry (<c>exp</c>), to the second.</summary>
    public DateTimeOffset Expiry { get; }

    /// <summary>The key ID (<c>kid</c>) of the signing authority.</summary>
    public string KeyId { get; }

    /// <summary>
    /// The parsed token, for reading other claims; built on first use from a string that passed the strict gate of
    /// <see cref="CompactJws"/>, so it holds no duplicate or trailing member to read differently. Its <c>ToString()</c>
    /// omits the signature; do not log <see cref="JsonWebToken.EncodedToken"/>.
    /// </summary>
    public JsonWebToken Token => _parsed ??= new JsonWebToken(_token);

    /// <summary>The Workload API's hint for this SVID, if it came from there (spec §1); otherwise null.</summary>
    public string? Hint { get; init; }

    /// <summary>A copy carrying the Workload API's hint.</summary>
    internal JwtSvid WithHint(string hint) => new(Id, Audience, Expiry, KeyId, _token) { Hint = hint, _parsed = _parsed };

    /// <summary>Returns the compact JWS, to send as <c>Authorization: Bearer</c>. It is a credential: never log it.</summary>
    public string Marshal() => _token;

    /// <summary>
    /// Validates a JWT-SVID per spec §3 against the JWT bundle of its subject's trust domain.
    /// </summary>
    /// <remarks>
    /// Order: size; the structural gate of <see cref="CompactJws.TryRead"/> (three canonical base64url segments,
    /// header and claims each one JSON object without repeated or trailing members, the <c>alg</c> allow-list before
    /// any key is touched so <c>none</c> and HMAC never reach a key, no <c>crit</c>, <c>typ</c> absent, <c>JWT</c> or
    /// <c>JOSE</c>, <c>kid</c>, claim types and NumericDates); <c>sub</c>; bundle of the <c>sub</c>'s trust domain (never
    /// <c>iss</c>); key by <c>kid</c>; key fits <c>alg</c> (<see cref="JoseAlgorithms.KeyFits"/>); <c>aud</c>; <c>exp</c>;
    /// <c>nbf</c>; <c>iat</c>; and only then the signature. All claim checks are cheap, so a flood of stale or
    /// misdirected tokens costs no public-key operation; a token that fails several checks reports the first.
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
        CheckArguments(bundles, audiences);
        options ??= JwtSvidValidationOptions.Default;
        return CompactJws.TryRead(token, options.ReaderOptions, out var jws, out var error)
            ? ValidateRead(jws, bundles, audiences, options)
            : Failures[Map(error)];
    }

    /// <summary>
    /// Validates a JWT-SVID that already passed <see cref="CompactJws.TryRead"/>, so it is not read twice. The JWT-SVID
    /// rules that depend on the reader's options (<c>typ</c>, <c>kid</c>, size) are checked again here.
    /// </summary>
    /// <param name="token">The token, read through the gate with any <see cref="CompactJwsOptions"/>.</param>
    /// <param name="bundles">The JWT bundles of the trust domains this validator trusts.</param>
    /// <param name="audiences">The audiences this validator answers to; the token must name at least one. Must not be empty.</param>
    /// <param name="options">Size limit, clock skew and clock; null for the defaults.</param>
    /// <exception cref="ArgumentException"><paramref name="audiences"/> is empty.</exception>
    public static JwtSvidValidationResult Validate(
        CompactJws token,
        IJwtBundleSource bundles,
        IReadOnlyCollection<string> audiences,
        JwtSvidValidationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(token);
        CheckArguments(bundles, audiences);
        options ??= JwtSvidValidationOptions.Default;
        return token.Token.Length > options.MaxTokenLength
            ? Failures[JwtSvidValidationError.TooLarge]
            : ValidateRead(token, bundles, audiences, options);
    }

    /// <summary>
    /// Parses a JWT-SVID WITHOUT verifying its signature, audience or lifetime. Unsafe: only for tokens that
    /// were already validated elsewhere, such as the token passed to the Workload API's ValidateJWTSVID.
    /// Structure is still checked (the gate of <see cref="CompactJws.TryRead"/>, <c>kid</c>, <c>sub</c>, <c>aud</c>, <c>exp</c>).
    /// </summary>
    /// <exception cref="FormatException">The token is not a structurally valid JWT-SVID (message prefixed <c>jwtsvid:</c>, never containing the token).</exception>
    public static JwtSvid ParseInsecure(string token)
    {
        if (!CompactJws.TryRead(token, InsecureReaderOptions, out var jws, out var readError))
        {
            throw new FormatException(Failures[Map(readError)].Message);
        }

        var error = CheckClaims(jws, out var parsed);
        return error == 0 ? parsed.ToSvid(jws.Token) : throw new FormatException(Failures[error].Message);
    }

    private static void CheckArguments(IJwtBundleSource bundles, IReadOnlyCollection<string> audiences)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        ArgumentNullException.ThrowIfNull(audiences);
        if (audiences.Count == 0)
        {
            // A validator that accepts any audience would accept tokens minted for someone else (spec §3).
            throw new ArgumentException("jwtsvid: at least one expected audience is required.", nameof(audiences));
        }
    }

    private static JwtSvidValidationResult ValidateRead(CompactJws jws, IJwtBundleSource bundles, IReadOnlyCollection<string> audiences, JwtSvidValidationOptions options)
    {
        var error = CheckClaims(jws, out var p);
        if (error != 0)
        {
            return Failures[error];
        }

        // The trust domain of sub selects the bundle; iss is not part of JWT-SVID trust (spec §3).
        if (!bundles.TryGetJwtBundle(p.Id.TrustDomain, out var bundle))
        {
            return Failures[JwtSvidValidationError.UnknownTrustDomain];
        }

        if (!bundle.TryGetAuthority(p.KeyId, out var key))
        {
            return Failures[JwtSvidValidationError.UnknownKey];
        }

        // The key decides the algorithm: ES384 over a P-256 key, or RS256 with a 1024-bit key, is refused here.
        if (!JoseAlgorithms.KeyFits(key, jws.Algorithm))
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

        if (jws.NotBefore is { } nbf && nbf > now + skew)
        {
            return Failures[JwtSvidValidationError.NotYetValid];
        }

        if (jws.IssuedAt is { } iat && iat > now + skew)
        {
            return Failures[JwtSvidValidationError.IssuedInFuture];
        }

        if (!jws.VerifySignature(key))
        {
            return Failures[JwtSvidValidationError.InvalidSignature];
        }

        return new JwtSvidValidationSuccess(p.ToSvid(jws.Token)) { Authority = key };
    }

    /// <summary>The JWT-SVID rules on a token the gate passed; returns 0 on success.</summary>
    private static JwtSvidValidationError CheckClaims(CompactJws jws, out Parsed parsed)
    {
        parsed = default;

        // Spec §3: typ, if present, is JWT or JOSE (compared as the media type it is, RFC 7515 §4.1.9).
        if (!JwsTypes.Jwt.Contains(jws.Type))
        {
            return JwtSvidValidationError.UnsupportedType;
        }

        // kid is optional in the JWT-SVID text, but JWT authorities must have one and SPIRE and go-spiffe require it (spec §3).
        if (string.IsNullOrEmpty(jws.KeyId))
        {
            return JwtSvidValidationError.MissingKeyId;
        }

        if (jws.Subject is not { } sub)
        {
            return JwtSvidValidationError.MissingSubject;
        }

        if (!SpiffeId.TryParse(sub, out var id))
        {
            return JwtSvidValidationError.InvalidSubject;
        }

        // aud is required (spec §3); empty strings name no one.
        var audience = jws.Audience.Count == 1 && jws.Audience[0].Length > 0 ? jws.Audience : [.. jws.Audience.Where(a => a.Length > 0)];
        if (audience.Count == 0)
        {
            return JwtSvidValidationError.MissingAudience;
        }

        if (jws.ExpirationTime is not { } exp)
        {
            return JwtSvidValidationError.MissingExpiry;
        }

        parsed = new Parsed(id, jws.KeyId, audience, exp);
        return 0;
    }

    private static JwtSvidValidationError Map(JwsError error) => error switch
    {
        JwsError.TooLarge => JwtSvidValidationError.TooLarge,
        JwsError.InvalidBase64Url => JwtSvidValidationError.InvalidEncoding,
        JwsError.InvalidJson => JwtSvidValidationError.InvalidJson,
        JwsError.TrailingData => JwtSvidValidationError.TrailingData,
        JwsError.DuplicateMember => JwtSvidValidationError.DuplicateMember,
        JwsError.UnsupportedAlgorithm => JwtSvidValidationError.UnsupportedAlgorithm,
        JwsError.CriticalHeader => JwtSvidValidationError.UnsupportedCriticalHeader,
        JwsError.UnsupportedType => JwtSvidValidationError.UnsupportedType,
        JwsError.MissingKeyId => JwtSvidValidationError.MissingKeyId,
        JwsError.InvalidClaimType => JwtSvidValidationError.InvalidClaimType,
        JwsError.InvalidNumericDate => JwtSvidValidationError.InvalidNumericDate,
        _ => JwtSvidValidationError.Malformed,
    };

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

    private readonly record struct Parsed(SpiffeId Id, string KeyId, IReadOnlyList<string> Audience, double Exp)
    {
        public JwtSvid ToSvid(string token) =>
            new(Id, Audience, DateTimeOffset.FromUnixTimeSeconds((long)Exp), KeyId, token);
    }
}
