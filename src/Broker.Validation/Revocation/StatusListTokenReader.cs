// Broker.Validation — resource servers honour broker tokens.

using System.IO.Compression;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Validation.Revocation;

/// <summary>
/// Verifies a Status List Token in JWT form and decodes its list (draft-ietf-oauth-status-list §5.1, §8.3 steps 3 to
/// 5), in order: the JWS (compact, <c>typ</c> <c>statuslist+jwt</c>, ES256 only, a key of the broker's JWKS by
/// <c>kid</c>), the issuer, <c>sub</c> equal to the URL it was fetched from, <c>iat</c>, <c>exp</c>, <c>ttl</c>, then
/// <c>status_list</c> decompressed with a bound. Every failure throws <see cref="StatusListRejectedException"/> with
/// a reason fit to log (it never quotes the token).
/// </summary>
internal static class StatusListTokenReader
{
    /// <summary>The JOSE <c>typ</c> of a list token (§5.1).</summary>
    public const string TokenType = "statuslist+jwt";

    /// <summary>The media type of a list token response (§8.2).</summary>
    public const string MediaType = "application/statuslist+jwt";

    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    /// <summary>The <c>kid</c> of a list token, to find its key; null when it has none or is not a compact JWS.</summary>
    public static string? KeyIdOf(string jwt)
    {
        try
        {
            return new JsonWebToken(jwt).Kid;
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenMalformedException)
        {
            return null;
        }
    }

    public static async Task<StatusListSnapshot> ReadAsync(
        string jwt, Uri fetchedFrom, string issuer, IEnumerable<SecurityKey> keys, TimeSpan clockSkew, int capacity, DateTimeOffset now)
    {
        JsonWebToken token;
        try
        {
            token = new JsonWebToken(jwt);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenMalformedException)
        {
            throw new StatusListRejectedException("the list is not a compact JWS");
        }

        // §5.1: typed statuslist+jwt (RFC 8725 §3.11 explicit typing), so no other token of the broker passes for a list.
        if (!string.Equals(token.Typ, TokenType, StringComparison.OrdinalIgnoreCase) && !string.Equals(token.Typ, MediaType, StringComparison.OrdinalIgnoreCase))
        {
            throw new StatusListRejectedException("the list's typ is not statuslist+jwt");
        }

        // The broker signs ES256 only: no "none", no HMAC keyed with a public key (RFC 8725 §3.1), before any key use.
        if (token.Alg != SecurityAlgorithms.EcdsaSha256)
        {
            throw new StatusListRejectedException("the list's alg is not ES256");
        }

        // Signature and issuer by IdentityModel; times below, on this library's clock.
        var result = await Handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = issuer,
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireExpirationTime = false,
            RequireSignedTokens = true,
            IssuerSigningKeys = keys,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidTypes = [TokenType, MediaType],
            TryAllIssuerSigningKeys = false,
        });
        if (!result.IsValid)
        {
            throw new StatusListRejectedException(result.Exception switch
            {
                SecurityTokenSignatureKeyNotFoundException => "the list is signed with a key the broker does not publish",
                SecurityTokenInvalidSignatureException => "the list's signature is not valid",
                SecurityTokenInvalidIssuerException => "the list's iss is not the broker",
                _ => "the list token is not valid",
            });
        }

        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.EncodedPayload));
        var claims = payload.RootElement;

        // §8.3 step 4a: the list is the one asked for, not another the same broker signed.
        if (!claims.TryGetProperty("sub", out var sub) || sub.ValueKind != JsonValueKind.String
            || !string.Equals(sub.GetString(), fetchedFrom.OriginalString, StringComparison.Ordinal))
        {
            throw new StatusListRejectedException("the list's sub is not the URL it was fetched from");
        }

        // §5.1: iat required; exp checked when present (§8.3 step 4c), and the broker always sends one.
        if (NumericDate(claims, "iat") is not { } issuedAt || issuedAt > now + clockSkew)
        {
            throw new StatusListRejectedException("the list has no iat, or one in the future");
        }

        if (NumericDate(claims, "exp") is not { } expiresAt)
        {
            throw new StatusListRejectedException("the list has no exp");
        }

        if (expiresAt + clockSkew <= now)
        {
            throw new StatusListRejectedException("the list has expired");
        }

        TimeSpan? ttl = null;
        if (claims.TryGetProperty("ttl", out var ttlClaim))
        {
            if (ttlClaim.ValueKind != JsonValueKind.Number || !ttlClaim.TryGetDouble(out var seconds) || seconds <= 0 || double.IsInfinity(seconds))
            {
                throw new StatusListRejectedException("the list's ttl is not a positive number");
            }

            ttl = TimeSpan.FromSeconds(Math.Min(seconds, TimeSpan.FromDays(366).TotalSeconds));
        }

        // §4.2: status_list {bits: 1|2|4|8, lst: base64url of the ZLIB-compressed byte array}.
        if (!claims.TryGetProperty("status_list", out var list) || list.ValueKind != JsonValueKind.Object
            || !list.TryGetProperty("bits", out var bitsClaim) || !bitsClaim.TryGetInt32(out var bits) || bits is not (1 or 2 or 4 or 8)
            || !list.TryGetProperty("lst", out var lst) || lst.ValueKind != JsonValueKind.String)
        {
            throw new StatusListRejectedException("the list's status_list is not {bits: 1|2|4|8, lst}");
        }

        byte[] compressed;
        try
        {
            compressed = Base64UrlEncoder.DecodeBytes(lst.GetString());
        }
        catch (FormatException)
        {
            throw new StatusListRejectedException("the list's lst is not base64url");
        }

        var bytes = Inflate(compressed, (int)((long)capacity * bits / 8));
        return new StatusListSnapshot(fetchedFrom.OriginalString, bytes, bits, issuedAt, expiresAt, ttl, now);
    }

    /// <summary>
    /// §4.1 step 3: DEFLATE in the ZLIB format, never more than <paramref name="maxBytes"/>: a few hundred bytes of
    /// ZLIB can stand for gigabytes of zeros, so the output is bounded, not the input.
    /// </summary>
    internal static byte[] Inflate(byte[] compressed, int maxBytes)
    {
        try
        {
            using var input = new MemoryStream(compressed, writable: false);
            using var zlib = new ZLibStream(input, CompressionMode.Decompress);
            var buffer = new byte[Math.Min(maxBytes, 64 * 1024) + 1];
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length > maxBytes)
                    {
                        throw new StatusListRejectedException($"the list decompresses to more than {maxBytes} bytes (StatusListOptions.Capacity)");
                    }

                    Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, (long)maxBytes + 1));
                }

                var read = zlib.Read(buffer, length, buffer.Length - length);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > maxBytes)
                {
                    throw new StatusListRejectedException($"the list decompresses to more than {maxBytes} bytes (StatusListOptions.Capacity)");
                }
            }

            Array.Resize(ref buffer, length);
            return buffer;
        }
        catch (InvalidDataException)
        {
            throw new StatusListRejectedException("the list's lst is not ZLIB data");
        }
    }

    private static DateTimeOffset? NumericDate(JsonElement claims, string name) =>
        claims.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var seconds)
            && seconds is >= 0 and < 253_402_300_800
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;
}

/// <summary>A list token this server will not use, and why (never quoting it).</summary>
internal sealed class StatusListRejectedException(string reason) : InvalidOperationException(reason);

/// <summary>A verified, decompressed Token Status List.</summary>
/// <param name="Uri">The list's URI: its <c>sub</c>, the URL it was fetched from.</param>
/// <param name="List">The byte array (§4.1).</param>
/// <param name="Bits">Bits per status: 1, 2, 4 or 8.</param>
/// <param name="IssuedAt">Its <c>iat</c>: it knows every revocation made before then.</param>
/// <param name="ExpiresAt">Its <c>exp</c>: it vouches for nothing after then.</param>
/// <param name="Ttl">Its <c>ttl</c>: when to fetch it again, after <paramref name="FetchedAt"/>.</param>
/// <param name="FetchedAt">When this server fetched it.</param>
internal sealed record StatusListSnapshot(string Uri, byte[] List, int Bits, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt, TimeSpan? Ttl, DateTimeOffset FetchedAt)
{
    /// <summary>
    /// The status at <paramref name="index"/> (0 VALID, 1 INVALID, 2 SUSPENDED…), least significant bits first (§4.1);
    /// null when the index is outside the list.
    /// </summary>
    public int? StatusAt(long index)
    {
        var bit = index * Bits;
        if (index < 0 || bit / 8 >= List.Length)
        {
            return null;
        }

        return (List[bit / 8] >> (int)(bit % 8)) & ((1 << Bits) - 1);
    }
}
