// Broker.Spiffe — SPIFFE for .NET.

using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Broker.Spiffe.Bundles;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Spiffe.Internal;

/// <summary>Shared JWK Set reading for plain JWKS (Workload API) and SPIFFE bundles (spec §4).</summary>
internal static class JwkSetReader
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        // A JSON object with two "keys" (or two "kid") members is ambiguous; different parsers pick
        // different ones. Reject rather than guess.
        AllowDuplicateProperties = false,
        MaxDepth = 16,
    };

    public static JsonDocument Open(ReadOnlySpan<byte> json, string component)
    {
        // Bound the input before parsing: bundles come from the network (federation endpoints).
        if (json.Length > JwtBundle.MaxJsonSize)
        {
            throw new SpiffeBundleFormatException($"{component}: document larger than {JwtBundle.MaxJsonSize} bytes.");
        }

        try
        {
            var doc = JsonDocument.Parse(json.ToArray(), DocumentOptions);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                doc.Dispose();
                throw new SpiffeBundleFormatException($"{component}: document is not a JSON object.");
            }

            return doc;
        }
        catch (JsonException ex)
        {
            throw new SpiffeBundleFormatException($"{component}: document is not valid JSON.", ex);
        }
    }

    public static JsonElement.ArrayEnumerator Keys(JsonDocument doc, string component)
    {
        // "keys" is REQUIRED; an empty array is valid and means every key is revoked (spec §4).
        if (!doc.RootElement.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array)
        {
            throw new SpiffeBundleFormatException($"{component}: missing \"keys\" array.");
        }

        return keys.EnumerateArray();
    }

    public static string? GetOptionalString(JsonElement key, string name, string component)
    {
        if (key.ValueKind != JsonValueKind.Object)
        {
            throw new SpiffeBundleFormatException($"{component}: key entry is not a JSON object.");
        }

        if (!key.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new SpiffeBundleFormatException($"{component}: key member \"{name}\" is not a string.");
    }

    /// <summary>
    /// Reads an EC or RSA public JWK. Returns null for any other <c>kty</c>, which the caller ignores (spec §4).
    /// The key is imported once here so that a bad point or modulus fails the bundle, not a later signature check.
    /// </summary>
    public static JsonWebKey? ToJsonWebKey(JsonElement element, string component)
    {
        var kty = GetOptionalString(element, "kty", component)
            ?? throw new SpiffeBundleFormatException($"{component}: key entry has no \"kty\".");
        if (kty is not (JsonWebAlgorithmsKeyTypes.EllipticCurve or JsonWebAlgorithmsKeyTypes.RSA))
        {
            return null;
        }

        JsonWebKey key;
        try
        {
            key = JsonWebKey.Create(element.GetRawText());
        }
        catch (ArgumentException ex)
        {
            throw new SpiffeBundleFormatException($"{component}: key entry is not a valid JWK.", ex);
        }

        if (key.HasPrivateKey)
        {
            // A bundle publishes public keys; private material here is an operator error worth refusing loudly.
            throw new SpiffeBundleFormatException($"{component}: key entry contains private key material.");
        }

        try
        {
            if (kty == JsonWebAlgorithmsKeyTypes.EllipticCurve)
            {
                var curve = CurveFor(key.Crv)
                    ?? throw new SpiffeBundleFormatException($"{component}: unsupported EC curve.");
                using var ec = ECDsa.Create(new ECParameters
                {
                    Curve = curve,
                    Q = new ECPoint { X = Base64Url.DecodeFromChars(key.X ?? string.Empty), Y = Base64Url.DecodeFromChars(key.Y ?? string.Empty) },
                });
            }
            else
            {
                using var rsa = RSA.Create(new RSAParameters
                {
                    Modulus = Base64Url.DecodeFromChars(key.N ?? string.Empty),
                    Exponent = Base64Url.DecodeFromChars(key.E ?? string.Empty),
                });
            }
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException or ArgumentException)
        {
            throw new SpiffeBundleFormatException($"{component}: key entry has invalid public key parameters.", ex);
        }

        return key;
    }

    public static ECCurve? CurveFor(string? crv) => crv switch
    {
        JsonWebKeyECTypes.P256 => ECCurve.NamedCurves.nistP256,
        JsonWebKeyECTypes.P384 => ECCurve.NamedCurves.nistP384,
        JsonWebKeyECTypes.P521 => ECCurve.NamedCurves.nistP521,
        _ => null,
    };

    public static string? CrvFor(ECCurve curve) => curve.Oid.Value switch
    {
        "1.2.840.10045.3.1.7" => JsonWebKeyECTypes.P256,
        "1.3.132.0.34" => JsonWebKeyECTypes.P384,
        "1.3.132.0.35" => JsonWebKeyECTypes.P521,
        _ => null,
    };
}
