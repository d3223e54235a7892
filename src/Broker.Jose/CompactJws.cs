// Broker.Jose — the strict compact-JWS gate.

using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Jose.Internal;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Jose;

/// <summary>
/// A compact JWS (RFC 7515 §7.1) carrying a JWT (RFC 7519) that passed the strict structural gate of
/// <see cref="TryRead"/>: its signature is NOT verified yet, but its header and claims are unambiguous, so any check
/// made on them, by this type or by another JOSE library reading the same string, sees the same values.
/// </summary>
/// <remarks>
/// The gate refuses, before any key is looked up or any claim is used:
/// <list type="bullet">
/// <item>anything but three non-empty segments (JWE, the JSON serialisations, an empty signature);</item>
/// <item>segments that are not canonical, unpadded base64url;</item>
/// <item>a header or payload that is not exactly one JSON object in UTF-8, with nothing after it;</item>
/// <item>a member name repeated in any object of header or payload (RFC 7515 §5.2 lets parsers keep the last value;
/// a security token must not, or an expired <c>exp</c>, a foreign <c>iss</c>, <c>alg: none</c> or another <c>kid</c>
/// rides in front of the value one parser checks and another uses);</item>
/// <item><c>alg</c> off <see cref="JoseAlgorithms.Allowed"/>; any <c>crit</c>; a <c>typ</c> not in
/// <see cref="CompactJwsOptions.AcceptedTypes"/>; a missing <c>kid</c> when required;</item>
/// <item><c>kid</c>, <c>cty</c>, <c>x5t</c>, <c>zip</c>, <c>iss</c>, <c>sub</c>, <c>jti</c>, <c>azp</c> that are not
/// strings, <c>aud</c> that is not a string or an array of strings, and <c>exp</c>, <c>nbf</c>, <c>iat</c> that are not
/// numbers between 0 and the year 9999.</item>
/// </list>
/// Reading costs one pass of <see cref="Utf8JsonReader"/> per segment to check it and one to read the registered
/// members; nothing is built per member. This type holds the token: never log <see cref="Token"/>.
/// </remarks>
public sealed class CompactJws
{
    // The largest NumericDate DateTimeOffset can hold: 9999-12-31T23:59:59Z.
    private const double MaxNumericDate = 253402300799;

    private readonly byte[] _header;
    private readonly byte[] _payload;
    private readonly int _payloadStart;
    private readonly int _signatureStart;

    private CompactJws(string token, int payloadStart, int signatureStart, byte[] header, byte[] payload, in HeaderValues h, in PayloadValues p)
    {
        Token = token;
        _payloadStart = payloadStart;
        _signatureStart = signatureStart;
        _header = header;
        _payload = payload;
        Algorithm = h.Alg!;
        KeyId = h.Kid;
        Type = h.Typ;
        Issuer = p.Iss;
        Subject = p.Sub;
        JwtId = p.Jti;
        Audience = p.Aud ?? [];
        ExpirationTime = p.Exp;
        NotBefore = p.Nbf;
        IssuedAt = p.Iat;
    }

    /// <summary>The token as presented. A credential: never log it.</summary>
    public string Token { get; }

    /// <summary><c>alg</c>: one of <see cref="JoseAlgorithms.Allowed"/>.</summary>
    public string Algorithm { get; }

    /// <summary><c>kid</c>, or null when absent (only when <see cref="CompactJwsOptions.RequireKeyId"/> is off).</summary>
    public string? KeyId { get; }

    /// <summary><c>typ</c> as sent, or null when absent; one of <see cref="CompactJwsOptions.AcceptedTypes"/>.</summary>
    public string? Type { get; }

    /// <summary><c>iss</c>, or null when absent.</summary>
    public string? Issuer { get; }

    /// <summary><c>sub</c>, or null when absent.</summary>
    public string? Subject { get; }

    /// <summary><c>jti</c>, or null when absent.</summary>
    public string? JwtId { get; }

    /// <summary><c>aud</c>, a string read as a list of one; empty when absent.</summary>
    public IReadOnlyList<string> Audience { get; }

    /// <summary><c>exp</c> in seconds since the epoch (RFC 7519 §2 NumericDate, possibly fractional), or null when absent.</summary>
    public double? ExpirationTime { get; }

    /// <summary><c>nbf</c> in seconds since the epoch, or null when absent.</summary>
    public double? NotBefore { get; }

    /// <summary><c>iat</c> in seconds since the epoch, or null when absent.</summary>
    public double? IssuedAt { get; }

    /// <summary>The JOSE header: UTF-8 JSON, validated by the gate, so any JSON reader reads it without error.</summary>
    public ReadOnlyMemory<byte> Header => _header;

    /// <summary>The JWT claims: UTF-8 JSON, validated by the gate, so any JSON reader reads it without error.</summary>
    public ReadOnlyMemory<byte> Payload => _payload;

    /// <summary>The JWS signing input, <c>BASE64URL(header) '.' BASE64URL(payload)</c> as sent (RFC 7515 §5.1).</summary>
    public ReadOnlySpan<char> SigningInput => Token.AsSpan(0, _signatureStart - 1);

    /// <summary>The signature segment as sent.</summary>
    public ReadOnlySpan<char> EncodedSignature => Token.AsSpan(_signatureStart);

    /// <summary>The payload segment as sent.</summary>
    public ReadOnlySpan<char> EncodedPayload => Token.AsSpan(_payloadStart, _signatureStart - _payloadStart - 1);

    /// <summary>
    /// Reads <paramref name="token"/> through the gate. Returns false with the first rule broken, in this order: size,
    /// segments, base64url, header JSON, <c>alg</c>, <c>crit</c>, <c>typ</c>, <c>kid</c>, empty signature, payload JSON,
    /// claim types, NumericDates.
    /// </summary>
    /// <param name="token">The compact JWS.</param>
    /// <param name="options">What to accept beyond the fixed rules.</param>
    /// <param name="jws">The token read, when the method returns true.</param>
    /// <param name="error">Why the token was refused, when the method returns false; otherwise <see cref="JwsError.None"/>.</param>
    public static bool TryRead(string? token, CompactJwsOptions options, [NotNullWhen(true)] out CompactJws? jws, out JwsError error)
    {
        ArgumentNullException.ThrowIfNull(options);
        jws = null;
        error = Read(token, options, ref jws);
        return error == JwsError.None;
    }

    /// <summary>True when the payload has a top-level member <paramref name="name"/>, whatever its value (null included).</summary>
    public bool HasClaim(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var reader = new Utf8JsonReader(_payload, StrictJson.ReaderOptions);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(name))
            {
                return true;
            }

            reader.Read();
            reader.Skip();
        }

        return false;
    }

    /// <summary>
    /// Verifies the signature with <paramref name="key"/> through Microsoft.IdentityModel's <see cref="CryptoProviderFactory"/>.
    /// False when the key does not fit <see cref="Algorithm"/> (<see cref="JoseAlgorithms.KeyFits"/>) or the
    /// signature does not verify.
    /// </summary>
    /// <remarks>
    /// The factory caches one provider per key and algorithm, so a key is imported once, not per token. Buffers are
    /// pooled: verification allocates nothing per token.
    /// </remarks>
    public bool VerifySignature(SecurityKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!JoseAlgorithms.KeyFits(key, Algorithm))
        {
            return false;
        }

        var factory = key.CryptoProviderFactory ?? CryptoProviderFactory.Default;
        SignatureProvider provider;
        try
        {
            provider = factory.CreateForVerifying(key, Algorithm);
        }
        catch (Exception ex) when (ex is NotSupportedException or ArgumentException or CryptographicException or InvalidOperationException)
        {
            return false;
        }

        try
        {
            return VerifySignature(provider);
        }
        finally
        {
            factory.ReleaseSignatureProvider(provider);
        }
    }

    /// <summary>
    /// Verifies the signature with a provider made for <see cref="Algorithm"/> by the caller, who has checked that its key
    /// fits it and keeps (or releases) the provider. False when the provider is for another algorithm or the signature
    /// does not verify.
    /// </summary>
    internal bool VerifySignature(SignatureProvider provider)
    {
        if (!string.Equals(provider.Algorithm, Algorithm, StringComparison.Ordinal))
        {
            return false;
        }

        var input = SigningInput;
        var signature = EncodedSignature;
        var inputBytes = ArrayPool<byte>.Shared.Rent(input.Length);

        // The signature gets its own buffer at offset 0: Microsoft.IdentityModel 8.23's ECDSA verification ignores a
        // non-zero signature offset.
        var signatureLength = StrictBase64Url.DecodedLength(signature.Length);
        var signatureBytes = ArrayPool<byte>.Shared.Rent(signatureLength);
        try
        {
            var written = Encoding.ASCII.GetBytes(input, inputBytes);
            StrictBase64Url.Decode(signature, signatureBytes.AsSpan(0, signatureLength));
            return written == input.Length && provider.Verify(inputBytes, 0, written, signatureBytes, 0, signatureLength);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or NotSupportedException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(inputBytes);
            ArrayPool<byte>.Shared.Return(signatureBytes);
        }
    }

    /// <summary>The algorithm and key ID; never the token.</summary>
    public override string ToString() => $"CompactJws(alg={Algorithm}, kid={KeyId})";

    private static JwsError Read(string? token, CompactJwsOptions options, ref CompactJws? jws)
    {
        if (string.IsNullOrEmpty(token))
        {
            return JwsError.Malformed;
        }

        // Size first: nothing else runs on an oversized input.
        if (token.Length > options.MaxTokenLength)
        {
            return JwsError.TooLarge;
        }

        // Exactly three segments (RFC 7515 §7.1): JWE (five), a detached or unsecured form and the JSON serialisations
        // end here. An empty signature is let through this step so that alg "none" is reported as what it is.
        var dot1 = token.IndexOf('.', StringComparison.Ordinal);
        var dot2 = dot1 < 0 ? -1 : token.IndexOf('.', dot1 + 1);
        if (dot1 <= 0 || dot2 < 0 || dot2 == dot1 + 1 || token.IndexOf('.', dot2 + 1) >= 0)
        {
            return JwsError.Malformed;
        }

        var encodedHeader = token.AsSpan(0, dot1);
        var encodedPayload = token.AsSpan(dot1 + 1, dot2 - dot1 - 1);
        var encodedSignature = token.AsSpan(dot2 + 1);
        if (!StrictBase64Url.IsValid(encodedHeader) || !StrictBase64Url.IsValid(encodedPayload) || !StrictBase64Url.IsValid(encodedSignature))
        {
            return JwsError.InvalidBase64Url;
        }

        // :: The header. The allow-list comes before anything that involves a key (RFC 8725 §3.1).
        var header = new byte[StrictBase64Url.DecodedLength(encodedHeader.Length)];
        StrictBase64Url.Decode(encodedHeader, header);
        var error = StrictJson.Validate(header);
        if (error != JwsError.None)
        {
            return error;
        }

        var h = ReadHeader(header);
        error = h.Check(options);
        if (error != JwsError.None)
        {
            return error;
        }

        if (encodedSignature.IsEmpty)
        {
            return JwsError.Malformed;
        }

        // :: The payload.
        var payload = new byte[StrictBase64Url.DecodedLength(encodedPayload.Length)];
        StrictBase64Url.Decode(encodedPayload, payload);
        error = StrictJson.Validate(payload);
        if (error != JwsError.None)
        {
            return error;
        }

        var p = ReadPayload(payload);
        if (p.TypeError)
        {
            return JwsError.InvalidClaimType;
        }

        if (p.DateError)
        {
            return JwsError.InvalidNumericDate;
        }

        jws = new CompactJws(token, dot1 + 1, dot2 + 1, header, payload, h, p);
        return JwsError.None;
    }

    private static HeaderValues ReadHeader(ReadOnlySpan<byte> json)
    {
        var values = default(HeaderValues);
        var reader = new Utf8JsonReader(json, StrictJson.ReaderOptions);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("alg"u8))
            {
                reader.Read();
                values.Alg = reader.TokenType == JsonTokenType.String ? MatchAlgorithm(ref reader) : null;
            }
            else if (reader.ValueTextEquals("kid"u8))
            {
                reader.Read();
                values.Kid = ReadString(ref reader, ref values.KidError);
            }
            else if (reader.ValueTextEquals("typ"u8))
            {
                reader.Read();
                values.TypPresent = true;
                values.Typ = ReadString(ref reader, ref values.TypError);
            }
            else if (reader.ValueTextEquals("cty"u8) || reader.ValueTextEquals("x5t"u8) || reader.ValueTextEquals("zip"u8))
            {
                // Unused here, but Microsoft.IdentityModel reads them as strings and fails on anything else: what
                // passes the gate must parse there too.
                reader.Read();
                _ = ReadString(ref reader, ref values.KidError);
            }
            else if (reader.ValueTextEquals("crit"u8))
            {
                reader.Read();
                values.Crit = true;
            }
            else
            {
                reader.Read();
            }

            reader.Skip();
        }

        return values;
    }

    private static PayloadValues ReadPayload(ReadOnlySpan<byte> json)
    {
        var values = default(PayloadValues);
        var reader = new Utf8JsonReader(json, StrictJson.ReaderOptions);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("iss"u8))
            {
                reader.Read();
                values.Iss = ReadString(ref reader, ref values.TypeError);
            }
            else if (reader.ValueTextEquals("sub"u8))
            {
                reader.Read();
                values.Sub = ReadString(ref reader, ref values.TypeError);
            }
            else if (reader.ValueTextEquals("jti"u8))
            {
                reader.Read();
                values.Jti = ReadString(ref reader, ref values.TypeError);
            }
            else if (reader.ValueTextEquals("azp"u8))
            {
                // As cty, x5t and zip in the header: a string wherever another reader insists on one.
                reader.Read();
                _ = ReadString(ref reader, ref values.TypeError);
            }
            else if (reader.ValueTextEquals("aud"u8))
            {
                reader.Read();
                values.Aud = ReadAudience(ref reader, ref values.TypeError);
            }
            else if (reader.ValueTextEquals("exp"u8))
            {
                reader.Read();
                values.Exp = ReadNumericDate(ref reader, ref values.DateError);
            }
            else if (reader.ValueTextEquals("nbf"u8))
            {
                reader.Read();
                values.Nbf = ReadNumericDate(ref reader, ref values.DateError);
            }
            else if (reader.ValueTextEquals("iat"u8))
            {
                reader.Read();
                values.Iat = ReadNumericDate(ref reader, ref values.DateError);
            }
            else
            {
                reader.Read();
            }

            reader.Skip();
        }

        return values;
    }

    private static string? MatchAlgorithm(ref Utf8JsonReader reader)
    {
        // Compared as unescaped text, like every other JSON reader; returns the allow-list's own string.
        foreach (var alg in JoseAlgorithms.Allowed)
        {
            if (reader.ValueTextEquals(alg))
            {
                return alg;
            }
        }

        return null;
    }

    private static string? ReadString(ref Utf8JsonReader reader, ref bool error)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        error = true;
        return null;
    }

    private static string[]? ReadAudience(ref Utf8JsonReader reader, ref bool error)
    {
        // RFC 7519 §4.1.3: one string, or an array of strings.
        if (reader.TokenType == JsonTokenType.String)
        {
            return [reader.GetString()!];
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            error = true;
            return null;
        }

        var audience = new List<string>(2);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                audience.Add(reader.GetString()!);
            }
            else
            {
                error = true;
                reader.Skip();
            }
        }

        return [.. audience];
    }

    private static double? ReadNumericDate(ref Utf8JsonReader reader, ref bool error)
    {
        // RFC 7519 §2: a JSON number of seconds. A string that looks like one is not one, and a value that is negative
        // or past the year 9999 is no date any issuer means and overflows DateTimeOffset.
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var value) && double.IsFinite(value) && value is >= 0 and <= MaxNumericDate)
        {
            return value;
        }

        error = true;
        return null;
    }

    private struct HeaderValues
    {
        public string? Alg;
        public string? Kid;
        public bool KidError; // also cty, x5t, zip
        public string? Typ;
        public bool TypPresent;
        public bool TypError;
        public bool Crit;

        public readonly JwsError Check(CompactJwsOptions options)
        {
            if (Alg is null)
            {
                return JwsError.UnsupportedAlgorithm;
            }

            // RFC 7515 §4.1.11: a recipient that does not understand a critical extension must reject the JWS. We
            // understand none, so crit is refused in any form, an empty array included (§4.1.11 forbids that too).
            if (Crit)
            {
                return JwsError.CriticalHeader;
            }

            if (TypError || !options.AcceptedTypes.Contains(TypPresent ? Typ : null))
            {
                return JwsError.UnsupportedType;
            }

            if (KidError)
            {
                return JwsError.InvalidClaimType;
            }

            return options.RequireKeyId && string.IsNullOrEmpty(Kid) ? JwsError.MissingKeyId : JwsError.None;
        }
    }

    private struct PayloadValues
    {
        public string? Iss;
        public string? Sub;
        public string? Jti;
        public string[]? Aud;
        public bool TypeError;
        public double? Exp;
        public double? Nbf;
        public double? Iat;
        public bool DateError;
    }
}
