using System.Buffers.Text;
using System.Security.Cryptography;

namespace Broker.Grants;

/// <summary>Grant IDs: the <c>jti</c> of every minted token.</summary>
public static class GrantId
{
    /// <summary>Maximum length of a grant ID accepted from outside (admin API, introspection).</summary>
    public const int MaxLength = 64;

    /// <summary>
    /// A new grant ID: 128 random bits, base64url. Unguessable, so knowing one grant ID says nothing
    /// about another.
    /// </summary>
    /// <param name="tenant">The tenant the grant belongs to; a store may use it to place the grant.</param>
    public static string New(string tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return Base64Url.EncodeToString(bytes);
    }
}
