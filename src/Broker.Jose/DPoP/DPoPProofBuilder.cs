// Broker.Jose — DPoP (RFC 9449).

using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Jose.DPoP;

/// <summary>
/// Makes DPoP proofs (RFC 9449 §4.2) with one key, for clients and tests: each proof has a fresh random <c>jti</c>, the
/// current <c>iat</c>, and <c>ath</c> and <c>nonce</c> when given. Thread-safe.
/// </summary>
/// <remarks>
/// The builder does not own the key: the caller keeps and disposes it, and may hold it non-exportable, since only its
/// public part is read. Signatures are made by Microsoft.IdentityModel's <see cref="CryptoProviderFactory"/>.
/// </remarks>
public sealed class DPoPProofBuilder
{
    // A provider per proof, not cached: the shared cache is keyed by public key, and would hand a provider holding
    // this key to a later builder after the caller disposed it.
    private static readonly CryptoProviderFactory Factory = new() { CacheSignatureProviders = false };

    private readonly SecurityKey _signingKey;
    private readonly TimeProvider _timeProvider;
    private readonly byte[] _header;

    /// <summary>A builder signing with an EC key: ES256 for P-256, ES384 for P-384, ES512 for P-521 (RFC 7518 §3.4).</summary>
    /// <param name="key">The private key; the builder does not dispose it.</param>
    /// <param name="timeProvider">The clock <c>iat</c> is read from; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException">The key is on another curve.</exception>
    public DPoPProofBuilder(ECDsa key, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        var parameters = key.ExportParameters(includePrivateParameters: false);
        // Some platforms name the curve without its OID value.
        var (alg, crv) = (parameters.Curve.Oid?.Value, parameters.Curve.Oid?.FriendlyName) switch
        {
            ("1.2.840.10045.3.1.7", _) or (_, "nistP256" or "ECDSA_P256") => (SecurityAlgorithms.EcdsaSha256, JsonWebKeyECTypes.P256),
            ("1.3.132.0.34", _) or (_, "nistP384" or "ECDSA_P384") => (SecurityAlgorithms.EcdsaSha384, JsonWebKeyECTypes.P384),
            ("1.3.132.0.35", _) or (_, "nistP521" or "ECDSA_P521") => (SecurityAlgorithms.EcdsaSha512, JsonWebKeyECTypes.P521),
            _ => throw new ArgumentException("dpop: the EC key must be on P-256, P-384 or P-521.", nameof(key)),
        };

        Algorithm = alg;
        PublicKey = new JsonWebKey
        {
            Kty = JsonWebAlgorithmsKeyTypes.EllipticCurve,
            Crv = crv,
            X = Base64Url.EncodeToString(parameters.Q.X),
            Y = Base64Url.EncodeToString(parameters.Q.Y),
        };
        _signingKey = new ECDsaSecurityKey(key) { CryptoProviderFactory = Factory };
        _timeProvider = timeProvider ?? TimeProvider.System;
        _header = Header();
        Thumbprint = DPoPJwk.Thumbprint(PublicKey);
    }

    /// <summary>A builder signing with an RSA key of at least 2048 bits.</summary>
    /// <param name="key">The private key; the builder does not dispose it.</param>
    /// <param name="algorithm">PS256 (the default), PS384, PS512, RS256, RS384 or RS512.</param>
    /// <param name="timeProvider">The clock <c>iat</c> is read from; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException">The algorithm is not an RSA one, or the key is smaller than 2048 bits.</exception>
    public DPoPProofBuilder(RSA key, string algorithm = SecurityAlgorithms.RsaSsaPssSha256, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(algorithm);
        if (!JoseAlgorithms.IsAllowed(algorithm) || algorithm[0] is not ('R' or 'P'))
        {
            throw new ArgumentException("dpop: an RSA key signs with PS256, PS384, PS512, RS256, RS384 or RS512.", nameof(algorithm));
        }

        if (key.KeySize < JoseAlgorithms.MinimumRsaKeySizeInBits)
        {
            throw new ArgumentException("dpop: the RSA key must have at least 2048 bits.", nameof(key));
        }

        var parameters = key.ExportParameters(includePrivateParameters: false);
        Algorithm = algorithm;
        PublicKey = new JsonWebKey
        {
            Kty = JsonWebAlgorithmsKeyTypes.RSA,
            N = Base64Url.EncodeToString(TrimLeadingZeros(parameters.Modulus!)),
            E = Base64Url.EncodeToString(TrimLeadingZeros(parameters.Exponent!)),
        };
        _signingKey = new RsaSecurityKey(key) { CryptoProviderFactory = Factory };
        _timeProvider = timeProvider ?? TimeProvider.System;
        _header = Header();
        Thumbprint = DPoPJwk.Thumbprint(PublicKey);
    }

    /// <summary>The <c>alg</c> of every proof.</summary>
    public string Algorithm { get; }

    /// <summary>
    /// The public key sent in every proof's <c>jwk</c>: <c>kty</c>, <c>crv</c>, <c>x</c>, <c>y</c> or <c>kty</c>,
    /// <c>n</c>, <c>e</c>, nothing else. Do not change it.
    /// </summary>
    public JsonWebKey PublicKey { get; }

    /// <summary>
    /// The RFC 7638 SHA-256 thumbprint of <see cref="PublicKey"/>, base64url: the <c>cnf.jkt</c> of tokens bound to this
    /// key, and the <c>dpop_jkt</c> of RFC 9449 §10.
    /// </summary>
    public string Thumbprint { get; }

    /// <summary>Makes a proof for one request.</summary>
    /// <param name="method">The request's method, such as <c>POST</c>, sent as <c>htm</c>.</param>
    /// <param name="uri">The request's absolute http(s) URI; sent as <c>htu</c> without its query and fragment.</param>
    /// <param name="accessToken">The access token sent with the request, whose hash goes in <c>ath</c> (RFC 9449 §7); null for none.</param>
    /// <param name="nonce">The server's latest <c>DPoP-Nonce</c>, sent as <c>nonce</c>; null for none.</param>
    /// <returns>The compact proof, for the <c>DPoP</c> header.</returns>
    /// <exception cref="ArgumentException">The method is empty, or the URI is not an absolute http(s) URI.</exception>
    public string CreateProof(string method, Uri uri, string? accessToken = null, string? nonce = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException("dpop: the URI must be an absolute http(s) URI.", nameof(uri));
        }

        // RFC 9449 §4.2: jti with at least 96 bits of randomness; 128 here.
        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);

        using var payload = new MemoryStream(256);
        using (var writer = new Utf8JsonWriter(payload))
        {
            writer.WriteStartObject();
            writer.WriteString("jti", Base64Url.EncodeToString(random));
            writer.WriteString("htm", method);
            writer.WriteString("htu", uri.GetLeftPart(UriPartial.Path));
            writer.WriteNumber("iat", _timeProvider.GetUtcNow().ToUnixTimeSeconds());
            if (accessToken is not null)
            {
                writer.WriteString("ath", DPoPHashes.AccessTokenHash(accessToken));
            }

            if (nonce is not null)
            {
                writer.WriteString("nonce", nonce);
            }

            writer.WriteEndObject();
        }

        var input = Base64Url.EncodeToString(_header) + "." + Base64Url.EncodeToString(payload.GetBuffer().AsSpan(0, (int)payload.Length));
        var provider = Factory.CreateForSigning(_signingKey, Algorithm);
        try
        {
            return input + "." + Base64Url.EncodeToString(provider.Sign(Encoding.ASCII.GetBytes(input)));
        }
        finally
        {
            Factory.ReleaseSignatureProvider(provider);
        }
    }

    private byte[] Header()
    {
        using var stream = new MemoryStream(256);
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("typ", DPoPConstants.ProofType);
            writer.WriteString("alg", Algorithm);
            writer.WriteStartObject("jwk");
            writer.WriteString("kty", PublicKey.Kty);
            if (PublicKey.Kty == JsonWebAlgorithmsKeyTypes.EllipticCurve)
            {
                writer.WriteString("crv", PublicKey.Crv);
                writer.WriteString("x", PublicKey.X);
                writer.WriteString("y", PublicKey.Y);
            }
            else
            {
                writer.WriteString("n", PublicKey.N);
                writer.WriteString("e", PublicKey.E);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static byte[] TrimLeadingZeros(byte[] value)
    {
        // RFC 7518 §6.3.1: minimal octets. .NET exports them so; this keeps the thumbprint right if a provider does not.
        var start = 0;
        while (start < value.Length - 1 && value[start] == 0)
        {
            start++;
        }

        return start == 0 ? value : value[start..];
    }
}
