// Broker.Jose — the strict compact-JWS gate.

using System.Buffers;
using System.Buffers.Text;

namespace Broker.Jose.Internal;

/// <summary>
/// Base64url as JWS requires it (RFC 7515 §2, RFC 4648 §5): the URL-safe alphabet only, no padding, no whitespace, and
/// canonical, i.e. unused trailing bits zero (RFC 4648 §3.5) and no length of 1 mod 4.
/// </summary>
/// <remarks>
/// .NET's decoder is lenient (it accepts padding and whitespace and ignores non-zero trailing bits), so a segment has
/// many spellings that decode alike. A token must have one spelling: otherwise the same signed content travels under
/// many different strings, each with its own hash, and a check made on one form says nothing about another.
/// </remarks>
internal static class StrictBase64Url
{
    private static readonly SearchValues<char> Alphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>True when <paramref name="chars"/> is canonical, unpadded base64url (empty is valid).</summary>
    public static bool IsValid(ReadOnlySpan<char> chars)
    {
        var remainder = chars.Length % 4;
        if (remainder == 1 || chars.ContainsAnyExcept(Alphabet))
        {
            return false;
        }

        // The last character of a 2- or 3-character group carries 4 or 2 bits that encode nothing: they must be 0.
        return remainder switch
        {
            2 => (ValueOf(chars[^1]) & 0b1111) == 0,
            3 => (ValueOf(chars[^1]) & 0b11) == 0,
            _ => true,
        };
    }

    /// <summary>The exact decoded length of a valid segment of <paramref name="charCount"/> characters.</summary>
    public static int DecodedLength(int charCount) => (charCount / 4 * 3) + (charCount % 4) switch
    {
        2 => 1,
        3 => 2,
        _ => 0,
    };

    /// <summary>Decodes a segment that <see cref="IsValid"/> accepted; <paramref name="destination"/> is exactly <see cref="DecodedLength"/> long.</summary>
    public static void Decode(ReadOnlySpan<char> chars, Span<byte> destination)
    {
        var status = Base64Url.DecodeFromChars(chars, destination, out _, out var written);
        if (status != OperationStatus.Done || written != destination.Length)
        {
            // Unreachable for input IsValid accepted; fail closed rather than hand on a partial buffer.
            throw new InvalidOperationException("jose: base64url segment did not decode as validated.");
        }
    }

    private static int ValueOf(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '-' => 62,
        _ => 63,
    };
}
