// Broker.Jose — DPoP (RFC 9449).

using System.Buffers.Text;
using System.Text.Json;
using Broker.Jose.Internal;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Jose.DPoP;

/// <summary>Reads the <c>jwk</c> of a proof's header into a public key, refusing anything that is not one.</summary>
internal static class DPoPJwk
{
    // Proof keys are seen once or a few times each and are chosen by the caller: no provider is cached for them, so
    // hostile keys neither fill nor evict the shared CryptoProviderFactory.Default cache the broker's own keys use.
    private static readonly CryptoProviderFactory Factory = new() { CacheSignatureProviders = false };

    /// <summary>
    /// Reads <c>jwk</c> from a header that passed <see cref="CompactJws.TryRead"/> (so its JSON is valid and has no
    /// repeated member names), for a proof signed with <paramref name="alg"/>.
    /// </summary>
    public static DPoPProofError TryRead(ReadOnlySpan<byte> header, string alg, int maxRsaKeySizeInBits, out JsonWebKey? key)
    {
        key = null;
        var reader = new Utf8JsonReader(header, StrictJson.ReaderOptions);
        reader.Read();
        var found = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isJwk = reader.ValueTextEquals("jwk"u8);
            reader.Read();
            if (isJwk)
            {
                found = true;
                break;
            }

            reader.Skip();
        }

        if (!found)
        {
            return DPoPProofError.MissingJwk;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return DPoPProofError.BadJwk;
        }

        var members = default(Members);
        var error = ReadMembers(ref reader, ref members);
        if (error != DPoPProofError.None)
        {
            return error;
        }

        // RFC 7517 §4.2, §4.3: a key marked for another use, or whose operations exclude verifying, is not for this.
        if ((members.Use is not null && members.Use != "sig") || (members.KeyOps is not null && !members.KeyOps.Contains("verify")))
        {
            return DPoPProofError.BadJwk;
        }

        key = members.Kty switch
        {
            JsonWebAlgorithmsKeyTypes.EllipticCurve => EcKey(members),
            JsonWebAlgorithmsKeyTypes.RSA => RsaKey(members, maxRsaKeySizeInBits),
            _ => null,
        };
        if (key is null)
        {
            return DPoPProofError.BadJwk;
        }

        // Type, curve, size and a pinned "alg" against the header's alg: ES256 takes P-256 only (RFC 7518 §3.4).
        return JoseAlgorithms.KeyFits(key, alg) ? DPoPProofError.None : DPoPProofError.AlgorithmKeyMismatch;
    }

    /// <summary>The RFC 7638 SHA-256 thumbprint of a key <see cref="TryRead"/> returned, base64url.</summary>
    /// <remarks>
    /// Microsoft.IdentityModel's <see cref="JsonWebKey.ComputeJwkThumbprint"/> hashes the required members in
    /// lexicographic order without whitespace (RFC 7638 §3.2, §3.3); it matches the RFC's own examples (tests). It does
    /// not escape the values, which is safe here only because <see cref="TryRead"/> admits a known <c>crv</c> and
    /// canonical base64url, which need no escaping.
    /// </remarks>
    public static string Thumbprint(JsonWebKey key) => Base64Url.EncodeToString(key.ComputeJwkThumbprint());

    private static DPoPProofError ReadMembers(ref Utf8JsonReader reader, ref Members members)
    {
        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            // RFC 9449 §4.3 step 7: no private key. The private members of EC and RSA keys (RFC 7518 §6.2.2, §6.3.2)
            // and the symmetric key of "oct" (§6.4.1), whatever their value, even null.
            if (reader.ValueTextEquals("d"u8) || reader.ValueTextEquals("p"u8) || reader.ValueTextEquals("q"u8)
                || reader.ValueTextEquals("dp"u8) || reader.ValueTextEquals("dq"u8) || reader.ValueTextEquals("qi"u8)
                || reader.ValueTextEquals("oth"u8) || reader.ValueTextEquals("k"u8))
            {
                return DPoPProofError.PrivateKeyInJwk;
            }

            var ok = true;
            if (reader.ValueTextEquals("kty"u8))
            {
                members.Kty = ReadString(ref reader, ref ok);
            }
            else if (reader.ValueTextEquals("crv"u8))
            {
                members.Crv = ReadString(ref reader, ref ok);
            }
            else if (reader.ValueTextEquals("x"u8))
            {
                members.X = ReadString(ref reader, ref ok);
            }
            else if (reader.ValueTextEquals("y"u8))
            {
                members.Y = ReadString(ref reader, ref ok);
            }
            else if (reader.ValueTextEquals("n"u8))
            {
                members.N = ReadString(ref reader, ref ok);
            }
            else if (reader.ValueTextEquals("e"u8))
            {
                members.E = ReadString(ref reader, ref ok);
            }
            else if (reader.ValueTextEquals("alg"u8))
            {
                members.Alg = ReadString(ref reader, ref ok);
            }
            else if (reader.ValueTextEquals("use"u8))
            {
                members.Use = ReadString(ref reader, ref ok);
            }
            else if (reader.ValueTextEquals("key_ops"u8))
            {
                members.KeyOps = ReadStrings(ref reader, ref ok);
            }
            else
            {
                // kid, ext, x5c and the like: not used, and not part of the thumbprint (RFC 7638 §3.2).
                reader.Read();
                reader.Skip();
            }

            if (!ok)
            {
                return DPoPProofError.BadJwk;
            }
        }

        return DPoPProofError.None;
    }

    private static JsonWebKey? EcKey(in Members m)
    {
        // RFC 7518 §6.2.1: x and y are exactly the coordinate size of the curve, so one key has one form and one
        // thumbprint. Members of other key types are refused rather than ignored.
        var size = m.Crv switch
        {
            JsonWebKeyECTypes.P256 => 32,
            JsonWebKeyECTypes.P384 => 48,
            JsonWebKeyECTypes.P521 => 66,
            _ => 0,
        };
        if (size == 0 || !IsOctets(m.X, size) || !IsOctets(m.Y, size) || m.N is not null || m.E is not null)
        {
            return null;
        }

        return new JsonWebKey { Kty = m.Kty, Crv = m.Crv, X = m.X, Y = m.Y, Alg = m.Alg, CryptoProviderFactory = Factory };
    }

    private static JsonWebKey? RsaKey(in Members m, int maxBits)
    {
        if (m.N is null || m.E is null || m.Crv is not null || m.X is not null || m.Y is not null)
        {
            return null;
        }

        // Sizes before decoding: the modulus within [2048, max] bits, the exponent at most 4 octets (65537 is 3), since
        // verification cost grows with both and both are the client's choice.
        if (!StrictBase64Url.IsValid(m.N) || StrictBase64Url.DecodedLength(m.N.Length) > (maxBits + 7) / 8
            || !StrictBase64Url.IsValid(m.E) || m.E.Length is 0 or > 6)
        {
            return null;
        }

        var modulus = Base64Url.DecodeFromChars(m.N);
        var exponent = Base64Url.DecodeFromChars(m.E);

        // RFC 7518 §6.3.1.1, §6.3.1.2: minimal octets, no leading zero, so one key has one form and one thumbprint.
        if (modulus[0] == 0 || exponent[0] == 0 || (exponent[^1] & 1) == 0 || (exponent.Length == 1 && exponent[0] < 3))
        {
            return null;
        }

        var bits = JoseAlgorithms.RsaModulusBits(m.N);
        if (bits < JoseAlgorithms.MinimumRsaKeySizeInBits || bits > maxBits)
        {
            return null;
        }

        return new JsonWebKey { Kty = m.Kty, N = m.N, E = m.E, Alg = m.Alg, CryptoProviderFactory = Factory };
    }

    private static bool IsOctets(string? value, int length) =>
        value is not null && StrictBase64Url.IsValid(value) && StrictBase64Url.DecodedLength(value.Length) == length;

    private static string? ReadString(ref Utf8JsonReader reader, ref bool ok)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        ok = false;
        reader.Skip();
        return null;
    }

    private static List<string>? ReadStrings(ref Utf8JsonReader reader, ref bool ok)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            ok = false;
            reader.Skip();
            return null;
        }

        var values = new List<string>(2);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                values.Add(reader.GetString()!);
            }
            else
            {
                ok = false;
                reader.Skip();
            }
        }

        return values;
    }

    private struct Members
    {
        public string? Kty;
        public string? Crv;
        public string? X;
        public string? Y;
        public string? N;
        public string? E;
        public string? Alg;
        public string? Use;
        public List<string>? KeyOps;
    }
}
