// Broker.Jose — the strict compact-JWS gate.

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Jose;

/// <summary>
/// The signature algorithms a presented token may use, and which keys each may be used with. One list for every
/// reader of presented tokens, so the allow-list cannot drift between code paths.
/// </summary>
/// <remarks>
/// Asymmetric only (RFC 8725 §3.1): no <c>none</c>, and no HMAC, whose "secret" would be a public key anyone can
/// fetch (the classic algorithm-confusion forgery). A key is used with one algorithm family and one hash only
/// (RFC 8725 §3.1, RFC 7518 §3.4): ES256 with P-256, ES384 with P-384, ES512 with P-521, RS*/PS* with an RSA key of at
/// least <see cref="MinimumRsaKeySizeInBits"/> bits; a JWK that names its own <c>alg</c> is pinned to it (RFC 7517 §4.4).
/// </remarks>
public static class JoseAlgorithms
{
    /// <summary>The smallest RSA modulus accepted: 2048 bits (NIST SP 800-131A; RFC 7518 §3.3 requires at least 2048).</summary>
    public const int MinimumRsaKeySizeInBits = 2048;

    private static readonly string[] AllowedList =
    [
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
    ];

    /// <summary>ES256/384/512, RS256/384/512 and PS256/384/512, compared case-sensitively (RFC 7515 §4.1.1).</summary>
    public static IReadOnlyList<string> Allowed => AllowedList;

    /// <summary>True when <paramref name="alg"/> is on the allow-list.</summary>
    public static bool IsAllowed(string? alg) => alg is not null && Array.IndexOf(AllowedList, alg) >= 0;

    /// <summary>
    /// True when <paramref name="key"/> may verify a signature made with <paramref name="alg"/>: the algorithm is
    /// allow-listed, the key's type, curve and size fit it, and a JWK's own <c>alg</c>, if any, names it.
    /// </summary>
    /// <param name="key">A <see cref="JsonWebKey"/>, <see cref="ECDsaSecurityKey"/>, <see cref="RsaSecurityKey"/> or
    /// <see cref="X509SecurityKey"/>; any other key type does not fit.</param>
    /// <param name="alg">The token's <c>alg</c>.</param>
    public static bool KeyFits(SecurityKey key, string alg)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!IsAllowed(alg))
        {
            return false;
        }

        return key switch
        {
            JsonWebKey jwk => JwkFits(jwk, alg),
            ECDsaSecurityKey ec => EcFits(ec.ECDsa, alg),
            RsaSecurityKey rsa => IsRsaAlgorithm(alg) && RsaSize(rsa) >= MinimumRsaKeySizeInBits,
            X509SecurityKey x509 => CertificateFits(x509.Certificate, alg),
            _ => false,
        };
    }

    private static bool JwkFits(JsonWebKey key, string alg)
    {
        // A JWK that pins its own "alg" may be used with that algorithm only (RFC 7517 §4.4).
        if (!string.IsNullOrEmpty(key.Alg) && !string.Equals(key.Alg, alg, StringComparison.Ordinal))
        {
            return false;
        }

        if (IsRsaAlgorithm(alg))
        {
            return key.Kty == JsonWebAlgorithmsKeyTypes.RSA && RsaModulusBits(key.N) >= MinimumRsaKeySizeInBits;
        }

        return key.Kty == JsonWebAlgorithmsKeyTypes.EllipticCurve && string.Equals(key.Crv, CurveFor(alg), StringComparison.Ordinal);
    }

    private static bool EcFits(ECDsa? ecdsa, string alg)
    {
        if (ecdsa is null || IsRsaAlgorithm(alg))
        {
            return false;
        }

        // KeySize alone cannot tell P-256 from secp256k1 or brainpoolP256r1: compare the named curve.
        var curve = ecdsa.ExportParameters(includePrivateParameters: false).Curve;
        var name = curve.Oid?.Value switch
        {
            "1.2.840.10045.3.1.7" => JsonWebKeyECTypes.P256,
            "1.3.132.0.34" => JsonWebKeyECTypes.P384,
            "1.3.132.0.35" => JsonWebKeyECTypes.P521,
            _ => curve.Oid?.FriendlyName switch
            {
                "nistP256" or "ECDSA_P256" => JsonWebKeyECTypes.P256,
                "nistP384" or "ECDSA_P384" => JsonWebKeyECTypes.P384,
                "nistP521" or "ECDSA_P521" => JsonWebKeyECTypes.P521,
                _ => null,
            },
        };
        return name is not null && name == CurveFor(alg);
    }

    private static bool CertificateFits(X509Certificate2? certificate, string alg)
    {
        if (certificate is null)
        {
            return false;
        }

        if (IsRsaAlgorithm(alg))
        {
            using var rsa = certificate.GetRSAPublicKey();
            return rsa is not null && rsa.KeySize >= MinimumRsaKeySizeInBits;
        }

        using var ec = certificate.GetECDsaPublicKey();
        return EcFits(ec, alg);
    }

    private static int RsaSize(RsaSecurityKey key) =>
        key.Rsa is { } rsa ? rsa.KeySize : key.Parameters.Modulus is { } modulus ? BitLength(modulus) : 0;

    private static bool IsRsaAlgorithm(string alg) => alg[0] is 'R' or 'P';

    private static string? CurveFor(string alg) => alg switch
    {
        SecurityAlgorithms.EcdsaSha256 => JsonWebKeyECTypes.P256,
        SecurityAlgorithms.EcdsaSha384 => JsonWebKeyECTypes.P384,
        SecurityAlgorithms.EcdsaSha512 => JsonWebKeyECTypes.P521,
        _ => null,
    };

    /// <summary>Bits of a JWK's base64url modulus, decoding only its first quantum; 0 when absent or not base64url.</summary>
    internal static int RsaModulusBits(string? n)
    {
        // Anything shorter than one quantum (3 octets) is far below the minimum.
        if (n is null || n.Length < 4 || !Internal.StrictBase64Url.IsValid(n))
        {
            return 0;
        }

        Span<byte> head = stackalloc byte[3];
        System.Buffers.Text.Base64Url.DecodeFromChars(n.AsSpan(0, 4), head);
        if (head[0] == 0)
        {
            // RFC 7518 §6.3.1.1 asks for the minimal octet sequence; a padded modulus is measured in full, so it
            // cannot pass for a bigger one.
            return BitLength(System.Buffers.Text.Base64Url.DecodeFromChars(n));
        }

        return ((Internal.StrictBase64Url.DecodedLength(n.Length) - 1) * 8) + 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)head[0]);
    }

    private static int BitLength(byte[] bigEndian)
    {
        for (var i = 0; i < bigEndian.Length; i++)
        {
            if (bigEndian[i] != 0)
            {
                return ((bigEndian.Length - i - 1) * 8) + 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)bigEndian[i]);
            }
        }

        return 0;
    }
}
