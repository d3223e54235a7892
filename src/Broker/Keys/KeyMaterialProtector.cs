using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Keys;

/// <summary>
/// Encrypts and decrypts the private halves of the ring's keys with ASP.NET Core Data Protection (authenticated
/// encryption under a purpose of our own; its keys live in Redis, encrypted to the operator's certificate). The
/// clear PKCS#8 bytes exist only in memory, briefly, and are zeroed after use.
/// </summary>
internal sealed class KeyMaterialProtector(IDataProtectionProvider provider)
{
    /// <summary>The Data Protection purpose: a protector for anything else cannot read these, nor these anything else.</summary>
    public const string Purpose = "Broker.Keys.SigningKey.v1";

    private readonly IDataProtector _protector = provider.CreateProtector(Purpose);

    /// <summary>A new ES256 key, stored form and usable form, activating at <paramref name="activatesAt"/>.</summary>
    public (StoredKey Stored, SigningKey Key) Generate(DateTimeOffset now, DateTimeOffset activatesAt) =>
        Wrap(ECDsa.Create(ECCurve.NamedCurves.nistP256), KeyOrigins.Generated, now, activatesAt);

    /// <summary>The stored form of an existing key (a PEM import).</summary>
    public (StoredKey Stored, SigningKey Key) Import(SigningKey key, DateTimeOffset now, DateTimeOffset activatesAt)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Wrap(key.Key.ECDsa, KeyOrigins.Imported, now, activatesAt);
    }

    /// <summary>
    /// The signing key of a stored entry. Throws <see cref="CryptographicException"/> when it cannot be decrypted (a
    /// Data Protection key that is missing or encrypted to another certificate) or does not match its own <c>kid</c>.
    /// </summary>
    public SigningKey Unprotect(StoredKey stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var pkcs8 = _protector.Unprotect(Base64UrlEncoder.DecodeBytes(stored.ProtectedPrivateKey));
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportPkcs8PrivateKey(pkcs8, out _);
            var key = SigningKey.FromECDsa(ecdsa);

            // The record names its key: a private key swapped in Redis for another one would sign under a kid that
            // verifiers resolve to a different public key. Refuse it rather than sign.
            if (!string.Equals(key.KeyId, stored.Kid, StringComparison.Ordinal))
            {
                throw new CryptographicException("The stored private key does not belong to its kid.");
            }

            return key;
        }
        catch
        {
            ecdsa.Dispose();
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>The public half of a stored entry, for the JWKS and for verifying; checked against its <c>kid</c>.</summary>
    public static SigningKey PublicKey(StoredKey stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var ecdsa = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Base64UrlEncoder.DecodeBytes(stored.X), Y = Base64UrlEncoder.DecodeBytes(stored.Y) },
        });
        var key = SigningKey.FromECDsa(ecdsa);
        if (!string.Equals(key.KeyId, stored.Kid, StringComparison.Ordinal))
        {
            ecdsa.Dispose();
            throw new CryptographicException("The stored public key does not match its kid.");
        }

        return key;
    }

    private (StoredKey Stored, SigningKey Key) Wrap(ECDsa ecdsa, string origin, DateTimeOffset now, DateTimeOffset activatesAt)
    {
        var key = SigningKey.FromECDsa(ecdsa);
        var pkcs8 = ecdsa.ExportPkcs8PrivateKey();
        try
        {
            var stored = new StoredKey
            {
                Kid = key.KeyId,
                CreatedAt = now,
                ActivatesAt = activatesAt,
                Origin = origin,
                X = key.PublicJwk.X,
                Y = key.PublicJwk.Y,
                ProtectedPrivateKey = Base64UrlEncoder.Encode(_protector.Protect(pkcs8)),
            };
            return (stored, key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }
}
