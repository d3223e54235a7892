using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Broker.Grants;

/// <summary>
/// Grant IDs: the <c>jti</c> of every minted token. Format: <c>&lt;routing tag&gt;.&lt;random&gt;</c>, where the
/// routing tag is 4 base64url characters derived from the tenant and the random part is 128 bits from a CSPRNG
/// (22 base64url characters), 27 characters in all.
/// </summary>
/// <remarks>
/// The routing tag lets a store place a grant next to the rest of its tenant's data (in Redis Cluster: the same
/// hash slot) and find it again from the ID alone, which is all an admin or a verifier has. It is a hash of the
/// tenant name, not a secret: the token carries its tenant in clear anyway. Unguessability comes only from the
/// random part.
/// </remarks>
internal static class GrantId
{
    /// <summary>Maximum length of a grant ID accepted from outside (admin API, introspection).</summary>
    public const int MaxLength = 64;

    /// <summary>Length of the routing tag at the start of every grant ID.</summary>
    internal const int RoutingTagLength = 4;

    private const int RandomLength = 22;
    private const int Length = RoutingTagLength + 1 + RandomLength;

    /// <summary>
    /// A new grant ID: the tenant's routing tag, a dot, and 128 random bits in base64url. Unguessable, so
    /// knowing one grant ID says nothing about another; URL-safe, so it can travel in a path segment.
    /// </summary>
    /// <param name="tenant">The tenant the grant belongs to; a store uses it to place the grant.</param>
    public static string New(string tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);
        return string.Concat(RoutingTag(tenant), ".", Base64Url.EncodeToString(random));
    }

    /// <summary>
    /// The routing tag of a tenant: the first 24 bits of SHA-256 over its UTF-8 name, base64url (4 characters).
    /// Two tenants may share a tag; stores treat the tag as a placement hint and keep the tenant name in the data.
    /// </summary>
    internal static string RoutingTag(string tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(tenant), hash);
        return Base64Url.EncodeToString(hash[..3]);
    }

    /// <summary>
    /// Reads the routing tag of a well-formed grant ID. False for anything <see cref="New"/> could not have
    /// produced, so untrusted input never reaches a key name unchecked.
    /// </summary>
    internal static bool TryGetRoutingTag(string? grantId, out string routingTag)
    {
        routingTag = string.Empty;
        if (!IsWellFormed(grantId))
        {
            return false;
        }

        routingTag = grantId![..RoutingTagLength];
        return true;
    }

    /// <summary>True when <paramref name="grantId"/> has the shape of an ID made by <see cref="New"/>.</summary>
    public static bool IsWellFormed(string? grantId)
    {
        if (grantId is null || grantId.Length != Length || grantId[RoutingTagLength] != '.')
        {
            return false;
        }

        foreach (var c in grantId.AsSpan(0, RoutingTagLength))
        {
            if (!IsBase64UrlChar(c))
            {
                return false;
            }
        }

        foreach (var c in grantId.AsSpan(RoutingTagLength + 1))
        {
            if (!IsBase64UrlChar(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsBase64UrlChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';
}
