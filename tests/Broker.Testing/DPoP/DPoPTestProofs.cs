using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Broker.Testing.DPoP;

/// <summary>
/// DPoP proofs written by hand, member by member, so tests can write what no client would: private members in the
/// key, a wrong algorithm, a claim of the wrong type.
/// </summary>
public static class DPoPTestProofs
{
    public const string Method = "POST";
    public const string TokenUri = "https://broker.example/token";
    public static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static readonly ECDsa P256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa P256Other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa P384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    public static readonly ECDsa P521 = ECDsa.Create(ECCurve.NamedCurves.nistP521);
    public static readonly RSA Rsa2048 = RSA.Create(2048);

    public static string B64(byte[] bytes) => Base64Url.EncodeToString(bytes);

    public static string B64(string text) => B64(Encoding.UTF8.GetBytes(text));

    public static JsonObject EcJwk(ECDsa key, bool includePrivate = false)
    {
        var p = key.ExportParameters(includePrivate);
        var crv = p.Q.X!.Length switch
        {
            32 => "P-256",
            48 => "P-384",
            _ => "P-521",
        };
        var jwk = new JsonObject { ["kty"] = "EC", ["crv"] = crv, ["x"] = B64(p.Q.X), ["y"] = B64(p.Q.Y!) };
        if (includePrivate)
        {
            jwk["d"] = B64(p.D!);
        }

        return jwk;
    }

    public static JsonObject RsaJwk(RSA key, bool includePrivate = false)
    {
        var p = key.ExportParameters(includePrivate);
        var jwk = new JsonObject { ["kty"] = "RSA", ["n"] = B64(p.Modulus!), ["e"] = B64(p.Exponent!) };
        if (includePrivate)
        {
            jwk["d"] = B64(p.D!);
            jwk["p"] = B64(p.P!);
            jwk["q"] = B64(p.Q!);
            jwk["dp"] = B64(p.DP!);
            jwk["dq"] = B64(p.DQ!);
            jwk["qi"] = B64(p.InverseQ!);
        }

        return jwk;
    }

    public static JsonObject Header(string alg = "ES256", JsonNode? jwk = null, string? typ = "dpop+jwt")
    {
        var header = new JsonObject();
        if (typ is not null)
        {
            header["typ"] = typ;
        }

        header["alg"] = alg;
        header["jwk"] = jwk ?? EcJwk(P256);
        return header;
    }

    public static JsonObject Claims(string method = Method, string uri = TokenUri, DateTimeOffset? iat = null, string? accessToken = null, string? nonce = null)
    {
        var claims = new JsonObject
        {
            ["jti"] = B64(RandomNumberGenerator.GetBytes(16)),
            ["htm"] = method,
            ["htu"] = uri,
            ["iat"] = (iat ?? Now).ToUnixTimeSeconds(),
        };
        if (accessToken is not null)
        {
            claims["ath"] = B64(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));
        }

        if (nonce is not null)
        {
            claims["nonce"] = nonce;
        }

        return claims;
    }

    /// <summary>Signs header and claims as written with <paramref name="key"/> under <paramref name="alg"/> (which need not match the header's).</summary>
    public static string Sign(JsonObject header, JsonObject claims, object? key = null, string? alg = null) =>
        SignSegments(B64(header.ToJsonString()), B64(claims.ToJsonString()), key ?? P256, alg ?? (string)header["alg"]!);

    public static string SignSegments(string encodedHeader, string encodedPayload, object key, string alg)
    {
        var input = Encoding.ASCII.GetBytes(encodedHeader + "." + encodedPayload);
        var hash = alg[^3..] switch
        {
            "384" => HashAlgorithmName.SHA384,
            "512" => HashAlgorithmName.SHA512,
            _ => HashAlgorithmName.SHA256,
        };
        byte[] signature = (alg, key) switch
        {
            ("none", _) => [],
            (_, ECDsa ec) => ec.SignData(input, hash),
            (['R', ..], RSA rsa) => rsa.SignData(input, hash, RSASignaturePadding.Pkcs1),
            (['P', ..], RSA rsa) => rsa.SignData(input, hash, RSASignaturePadding.Pss),
            (['H', ..], byte[] secret) => HMACSHA256.HashData(secret, input),
            _ => throw new ArgumentException($"cannot sign {alg} with {key.GetType().Name}"),
        };
        return encodedHeader + "." + encodedPayload + "." + B64(signature);
    }

    /// <summary>A valid ES256 proof for <see cref="Method"/> <see cref="TokenUri"/> at <see cref="Now"/>.</summary>
    public static string Valid(string? accessToken = null, string? nonce = null) =>
        Sign(Header(), Claims(accessToken: accessToken, nonce: nonce));

    /// <summary>An RSA public key of <paramref name="bits"/> bits that no one holds: for checks made before the signature.</summary>
    public static JsonObject FakeRsaJwk(int bits)
    {
        var modulus = RandomNumberGenerator.GetBytes(bits / 8);
        modulus[0] |= 0x80;
        modulus[^1] |= 1;
        return new JsonObject { ["kty"] = "RSA", ["n"] = B64(modulus), ["e"] = "AQAB" };
    }

    public static JsonObject With(this JsonObject json, string name, JsonNode? value)
    {
        var copy = (JsonObject)json.DeepClone();
        copy[name] = value;
        return copy;
    }

    public static JsonObject Without(this JsonObject json, string name)
    {
        var copy = (JsonObject)json.DeepClone();
        copy.Remove(name);
        return copy;
    }
}
