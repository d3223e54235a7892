// Broker.Spiffe — SPIFFE for .NET.

using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Broker.Spiffe;

/// <summary>
/// A SPIFFE ID such as <c>spiffe://example.org/ns/prod/sa/api</c> (SPIFFE-ID §2).
/// </summary>
/// <remarks>
/// Parsed by hand and strictly rather than with <see cref="Uri"/>, which normalises (case, dot segments,
/// percent-encoding) and would let two different strings name one identity (spec §2):
/// lowercase <c>spiffe://</c> scheme; trust domain <c>[a-z0-9._-]{1,255}</c>; path empty or
/// <c>/segment(/segment)*</c> with segments of <c>[a-zA-Z0-9._-]</c>, never empty, <c>.</c> or <c>..</c>;
/// no trailing slash, query, fragment, port, userinfo or escapes; at most 2048 bytes in all.
/// Equality is ordinal on the full string. The default value is the zero ID (<see cref="IsZero"/>).
/// </remarks>
public readonly record struct SpiffeId
{
    /// <summary>The maximum length of a SPIFFE ID in bytes (SPIFFE-ID §2.3).</summary>
    public const int MaxLength = 2048;

    private readonly string? _id;
    private readonly TrustDomain _trustDomain;

    private SpiffeId(string id, TrustDomain trustDomain)
    {
        _id = id;
        _trustDomain = trustDomain;
    }

    /// <summary>The trust domain of this ID.</summary>
    public TrustDomain TrustDomain => _trustDomain;

    /// <summary>The path, for example <c>/ns/prod/sa/api</c>; empty for the trust domain's own ID.</summary>
    public string Path => _id is null ? string.Empty : _id[(TrustDomain.SchemePrefix.Length + _trustDomain.Name.Length)..];

    /// <summary>True for the default (unset) value.</summary>
    public bool IsZero => _id is null;

    /// <summary>True when the ID names a workload rather than the trust domain itself (non-empty path).</summary>
    public bool HasPath => _id is not null && _id.Length > TrustDomain.SchemePrefix.Length + _trustDomain.Name.Length;

    /// <summary>Parses a SPIFFE ID strictly (see the type remarks). Never throws.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out SpiffeId id)
    {
        id = default;
        if (value is null || value.Length > MaxLength || !value.StartsWith(TrustDomain.SchemePrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = value.AsSpan(TrustDomain.SchemePrefix.Length);
        var slash = rest.IndexOf('/');
        var tdName = slash < 0 ? rest : rest[..slash];
        if (!TrustDomain.IsValidName(tdName))
        {
            return false;
        }

        if (slash >= 0 && !IsValidPath(rest[slash..]))
        {
            return false;
        }

        id = new SpiffeId(value, TrustDomain.FromValidatedName(tdName.ToString()));
        return true;
    }

    /// <summary>
    /// Parses a SPIFFE ID from static, trusted input (configuration constants, tests).
    /// Use <see cref="TryParse"/> for anything that arrives at run time.
    /// </summary>
    /// <exception cref="FormatException">The value is not a valid SPIFFE ID.</exception>
    public static SpiffeId Parse(string value) =>
        TryParse(value, out var id) ? id : throw new FormatException("spiffeid: invalid SPIFFE ID.");

    /// <summary>
    /// Builds an ID from a trust domain and path segments, e.g. <c>FromSegments(td, "ns", "prod")</c>
    /// gives <c>spiffe://td/ns/prod</c>. Each segment must be a valid path segment (no slashes).
    /// </summary>
    /// <exception cref="ArgumentException">The trust domain is zero or a segment is invalid.</exception>
    public static SpiffeId FromSegments(TrustDomain trustDomain, params ReadOnlySpan<string> segments)
    {
        if (trustDomain.IsZero)
        {
            throw new ArgumentException("spiffeid: trust domain is empty.", nameof(trustDomain));
        }

        var builder = new StringBuilder(trustDomain.IdString);
        foreach (var segment in segments)
        {
            if (string.IsNullOrEmpty(segment) || !IsValidSegment(segment))
            {
                throw new ArgumentException("spiffeid: invalid path segment.", nameof(segments));
            }

            builder.Append('/').Append(segment);
        }

        return TryParse(builder.ToString(), out var id)
            ? id
            : throw new ArgumentException("spiffeid: the resulting SPIFFE ID is too long.", nameof(segments));
    }

    /// <summary>True when this ID belongs to <paramref name="trustDomain"/>.</summary>
    public bool IsMemberOf(TrustDomain trustDomain) => !IsZero && _trustDomain == trustDomain;

    /// <summary>Returns the full ID, for example <c>spiffe://example.org/api</c>; empty for the zero value.</summary>
    public override string ToString() => _id ?? string.Empty;

    /// <summary>Validates <c>/segment(/segment)*</c> (SPIFFE-ID §2.2).</summary>
    private static bool IsValidPath(ReadOnlySpan<char> path)
    {
        // path[0] is '/'. Each segment runs to the next '/' or the end; an empty segment also
        // catches the trailing slash and "//".
        while (!path.IsEmpty)
        {
            path = path[1..];
            var end = path.IndexOf('/');
            var segment = end < 0 ? path : path[..end];
            if (segment.IsEmpty || !IsValidSegment(segment))
            {
                return false;
            }

            path = end < 0 ? [] : path[end..];
        }

        return true;
    }

    private static bool IsValidSegment(ReadOnlySpan<char> segment)
    {
        // "." and ".." are forbidden so that no normalisation can ever change what an ID means.
        if (segment is "." or "..")
        {
            return false;
        }

        foreach (var c in segment)
        {
            if (!(c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}
