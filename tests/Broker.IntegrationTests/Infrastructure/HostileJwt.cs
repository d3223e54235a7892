using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// A JWT written member by member and byte by byte, then signed with a real key over exactly the segments sent, so
/// a test can write what no JOSE library would (a repeated member, bytes after the JSON, padding, a string
/// <c>exp</c>) and be sure that only that defect can make the broker refuse it.
/// </summary>
public sealed class HostileJwt
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /// <summary>Header members in order: name as it appears between the quotes (escapes allowed), raw JSON value.</summary>
    public List<KeyValuePair<string, string>> Header { get; } = [];

    /// <summary>Claims in order, like <see cref="Header"/>.</summary>
    public List<KeyValuePair<string, string>> Claims { get; } = [];

    /// <summary>Bytes written after the header JSON object.</summary>
    public string HeaderSuffix { get; set; } = string.Empty;

    /// <summary>Bytes written after the claims JSON object.</summary>
    public string ClaimsSuffix { get; set; } = string.Empty;

    /// <summary>Replaces the header JSON as rendered.</summary>
    public Func<string, string>? HeaderJson { get; set; }

    /// <summary>Replaces the claims bytes as rendered (for invalid UTF-8).</summary>
    public Func<byte[], byte[]>? ClaimsBytes { get; set; }

    /// <summary>How each segment is spelled once encoded; applied before signing, so the signature covers it.</summary>
    public Segment HeaderEncoding { get; set; }

    public Segment ClaimsEncoding { get; set; }

    /// <summary>How the signature segment is spelled (applied after signing).</summary>
    public Segment SignatureEncoding { get; set; }

    /// <summary>Signs with this key instead of the path's default (e.g. the EC key for an ES384 case).</summary>
    public TestKey? Key { get; set; }

    /// <summary>Signs with this hash instead of the one <c>alg</c> names (a P-256 signature over a SHA-384 digest).</summary>
    public HashAlgorithmName? Hash { get; set; }

    /// <summary>A last rewrite of the whole compact string.</summary>
    public Func<string, string>? Whole { get; set; }

    public enum Segment
    {
        Canonical,
        Padded,
        NonCanonical,
        LengthOneModFour,
        StandardAlphabet,
        WithNewline,
    }

    public HostileJwt SetHeader(string name, string json) => Set(Header, name, json);

    public HostileJwt SetClaim(string name, string json) => Set(Claims, name, json);

    public HostileJwt RemoveHeader(string name)
    {
        Header.RemoveAll(m => m.Key == name);
        return this;
    }

    /// <summary>The compact JWS, signed by <paramref name="defaultKey"/> (or <see cref="Key"/>).</summary>
    public string Sign(TestKey defaultKey)
    {
        var key = Key ?? defaultKey;
        var header = Encode(Encoding.UTF8.GetBytes(RenderHeader()), HeaderEncoding);
        var claimsBytes = Encoding.UTF8.GetBytes(Render(Claims) + ClaimsSuffix);
        claimsBytes = ClaimsBytes?.Invoke(claimsBytes) ?? claimsBytes;
        var claims = Encode(claimsBytes, ClaimsEncoding);
        var input = Encoding.ASCII.GetBytes(header + "." + claims);
        var signature = key.Key switch
        {
            ECDsaSecurityKey ec => ec.ECDsa.SignData(input, Hash ?? HashAlgorithmName.SHA256),
            RsaSecurityKey rsa => rsa.Rsa.SignData(input, Hash ?? HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            _ => throw new InvalidOperationException("unsupported test key"),
        };
        var token = header + "." + claims + "." + Spell(Base64UrlEncoder.Encode(signature), SignatureEncoding, signature);
        return Whole?.Invoke(token) ?? token;
    }

    private string RenderHeader()
    {
        var json = Render(Header) + HeaderSuffix;
        return HeaderJson?.Invoke(json) ?? json;
    }

    private static string Render(List<KeyValuePair<string, string>> members) =>
        "{" + string.Join(',', members.Select(m => $"\"{m.Key}\":{m.Value}")) + "}";

    /// <summary>Encodes, first adding a filler member when the defect needs a particular length.</summary>
    private static string Encode(byte[] json, Segment spelling)
    {
        int[]? wanted = spelling switch
        {
            Segment.Padded or Segment.NonCanonical => [2, 3],
            Segment.LengthOneModFour => [0],
            _ => null,
        };
        if (wanted is not null && !wanted.Contains(Base64UrlEncoder.Encode(json).Length % 4))
        {
            for (var pad = 0; ; pad++)
            {
                var filled = Encoding.UTF8.GetString(json).Insert(1, $"\"fill\":\"{new string('x', pad)}\",");
                if (wanted.Contains(Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(filled)).Length % 4))
                {
                    json = Encoding.UTF8.GetBytes(filled);
                    break;
                }
            }
        }

        if (spelling == Segment.StandardAlphabet)
        {
            // Add a member whose bytes need '+' or '/' in standard base64, and send that alphabet.
            for (var n = 1; ; n++)
            {
                var filled = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(json).Insert(1, $"\"fill\":\"{new string('~', n)}\","));
                var standard = Convert.ToBase64String(filled).TrimEnd('=');
                if (standard.Contains('+', StringComparison.Ordinal) || standard.Contains('/', StringComparison.Ordinal))
                {
                    return standard;
                }
            }
        }

        return Spell(Base64UrlEncoder.Encode(json), spelling, json);
    }

    private static string Spell(string canonical, Segment spelling, byte[] bytes) => spelling switch
    {
        Segment.Canonical => canonical,
        Segment.Padded => canonical + new string('=', (4 - (canonical.Length % 4)) % 4),
        Segment.NonCanonical => SetUnusedBits(canonical),
        Segment.LengthOneModFour => canonical + "A",
        Segment.WithNewline => canonical.Insert(canonical.Length / 2, "\n"),
        Segment.StandardAlphabet => Convert.ToBase64String(bytes).TrimEnd('='),
        _ => throw new ArgumentOutOfRangeException(nameof(spelling)),
    };

    /// <summary>The same octets, spelled with the unused low bits of the last character set (RFC 4648 §3.5).</summary>
    private static string SetUnusedBits(string segment)
    {
        var unused = (segment.Length % 4) switch
        {
            2 => 0b1111,
            3 => 0b11,
            _ => throw new InvalidOperationException("segment has no unused bits"),
        };
        return segment[..^1] + Alphabet[Alphabet.IndexOf(segment[^1], StringComparison.Ordinal) | unused];
    }

    private HostileJwt Set(List<KeyValuePair<string, string>> members, string name, string json)
    {
        var index = members.FindIndex(m => m.Key == name);
        if (index >= 0)
        {
            members[index] = new(name, json);
        }
        else
        {
            members.Add(new(name, json));
        }

        return this;
    }
}
