// Broker.Jose — DPoP (RFC 9449).

using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Broker.Jose.DPoP;

/// <summary>The hashes RFC 9449 defines over an access token and a proof.</summary>
internal static class DPoPHashes
{
    /// <summary>
    /// <c>ath</c>: base64url SHA-256 of the access token's ASCII octets (RFC 9449 §4.2). UTF-8 is ASCII for every valid
    /// token; for an invalid one it keeps distinct tokens distinct where an ASCII encoder would map both to '?'.
    /// </summary>
    public static string AccessTokenHash(string accessToken) =>
        Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(accessToken)));

    /// <summary>
    /// The replay cache key of a proof: base64url SHA-256 of thumbprint and <c>jti</c>. Fixed length whatever the
    /// <c>jti</c> (RFC 9449 §11.1 "store only a hash"), and per key, so one client cannot burn another's <c>jti</c>.
    /// The thumbprint is 43 base64url characters, so the concatenation is unambiguous.
    /// </summary>
    public static string ReplayKey(string thumbprint, string jwtId) =>
        Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(thumbprint + jwtId)));
}
