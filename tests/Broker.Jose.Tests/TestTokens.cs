using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Broker.Jose.Tests;

/// <summary>Compact JWS written by hand, byte by byte, so tests can write what no JOSE library would.</summary>
internal static class TestTokens
{
    public static readonly ECDsa P256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public const string Header = """{"alg":"ES256","kid":"k1","typ":"JWT"}""";

    public const string Payload = """{"iss":"https://issuer.test","sub":"workload","aud":["broker"],"iat":1700000000,"nbf":1700000000,"exp":1700000300,"jti":"id-1","ns":{"name":"a","tags":["x","y"]}}""";

    public static string B64(string text) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));

    public static string B64(byte[] bytes) => Base64Url.EncodeToString(bytes);

    /// <summary>Header and payload encoded as given, signed with ES256 over exactly those segments.</summary>
    public static string Sign(string header = Header, string payload = Payload) => SignSegments(B64(header), B64(payload));

    public static string SignSegments(string encodedHeader, string encodedPayload, ECDsa? key = null, HashAlgorithmName? hash = null)
    {
        var input = encodedHeader + "." + encodedPayload;
        var signature = (key ?? P256).SignData(Encoding.ASCII.GetBytes(input), hash ?? HashAlgorithmName.SHA256);
        return input + "." + B64(signature);
    }

    /// <summary>Sets the unused low bits of the last character of a segment whose length is 2 or 3 mod 4.</summary>
    public static string NonCanonical(string segment)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var unused = (segment.Length % 4) switch
        {
            2 => 0b1111,
            3 => 0b11,
            _ => throw new ArgumentException("segment has no unused bits", nameof(segment)),
        };
        var value = alphabet.IndexOf(segment[^1], StringComparison.Ordinal);
        return segment[..^1] + alphabet[value | unused];
    }

    /// <summary>Adds a member so the encoded JSON's length is <paramref name="remainder"/> mod 4.</summary>
    public static string WithEncodedLength(string json, int remainder)
    {
        for (var pad = 0; pad < 8; pad++)
        {
            var candidate = json.Insert(1, $"\"p\":\"{new string('x', pad)}\",");
            if (B64(candidate).Length % 4 == remainder)
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("unreachable");
    }
}
