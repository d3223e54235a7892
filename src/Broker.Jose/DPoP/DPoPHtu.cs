// Broker.Jose — DPoP (RFC 9449).

using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Broker.Jose.DPoP;

/// <summary>
/// The form in which a DPoP proof's <c>htu</c> and the request's target URI are compared (RFC 9449 §4.3 step 9):
/// an absolute <c>http</c> or <c>https</c> URI after syntax-based (RFC 3986 §6.2.2) and scheme-based (RFC 3986 §6.2.3)
/// normalisation, without its query and fragment.
/// </summary>
/// <remarks>
/// <para>
/// Normalisation lowercases the scheme and host, writes percent-encodings in upper case and decodes those of unreserved
/// characters (<c>%7E</c> is <c>~</c>, <c>%2F</c> stays), removes dot segments, drops an empty or default port
/// (<c>:443</c> for https, <c>:80</c> for http) and turns an empty path into <c>/</c>. So
/// <c>HTTPS://Broker.Example:443/a/./token?x#y</c> and <c>https://broker.example/a/token</c> are one URI.
/// </para>
/// <para>
/// It is strict about the rest, since what cannot be read one way only must not match: anything but printable
/// ASCII, a character RFC 3986 does not allow where it stands, a broken percent-encoding, userinfo (RFC 9110 §4.2.4),
/// an empty host or a port above 65535 is refused. Unlike <see cref="Uri"/> nothing is repaired: a backslash is not a
/// slash and spaces are not trimmed.
/// </para>
/// <para>
/// A server must build the URI it compares against from its own configured public origin plus the request path, not
/// from the request's <c>Host</c> header alone: a proof made for another server would otherwise match when replayed
/// here with that server's name in <c>Host</c>.
/// </para>
/// </remarks>
public static class DPoPHtu
{
    /// <summary>The longest URI normalised, in characters. Longer input is refused.</summary>
    public const int MaxLength = 8 * 1024;

    private static readonly SearchValues<char> Unreserved =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~");

    private static readonly SearchValues<char> SubDelims = SearchValues.Create("!$&'()*+,;=");

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789ABCDEFabcdef");

    private static readonly SearchValues<char> IpLiteralChars = SearchValues.Create("0123456789ABCDEFabcdef:.");

    /// <summary>
    /// Normalises <paramref name="uri"/> for comparison with another normalised URI (ordinal, case-sensitive).
    /// </summary>
    /// <param name="uri">An absolute <c>http</c> or <c>https</c> URI; its query and fragment are dropped.</param>
    /// <param name="normalized"><c>scheme://host[:port]/path</c> in normal form, when the method returns true.</param>
    /// <returns>False when <paramref name="uri"/> is not an absolute http(s) URI this type reads (see remarks).</returns>
    public static bool TryNormalize(string? uri, [NotNullWhen(true)] out string? normalized)
    {
        normalized = null;
        if (string.IsNullOrEmpty(uri) || uri.Length > MaxLength)
        {
            return false;
        }

        // :: Scheme (RFC 3986 §3.1), lower case (§6.2.2.1). Only HTTP target URIs (RFC 9110 §7.1) are DPoP targets.
        var colon = uri.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        var scheme = uri.AsSpan(0, colon);
        int defaultPort;
        if (scheme.Equals("https", StringComparison.OrdinalIgnoreCase))
        {
            defaultPort = 443;
        }
        else if (scheme.Equals("http", StringComparison.OrdinalIgnoreCase))
        {
            defaultPort = 80;
        }
        else
        {
            return false;
        }

        // :: "//" authority: http(s) URIs always have one, with a non-empty host (RFC 9110 §4.2.1, §4.2.2).
        var rest = uri.AsSpan(colon + 1);
        if (!rest.StartsWith("//", StringComparison.Ordinal))
        {
            return false;
        }

        rest = rest[2..];

        // The query and fragment are not compared (RFC 9449 §4.3 step 9); they are cut off unread.
        var end = rest.IndexOfAny('?', '#');
        if (end >= 0)
        {
            rest = rest[..end];
        }

        var slash = rest.IndexOf('/');
        var authority = slash < 0 ? rest : rest[..slash];
        var path = slash < 0 ? [] : rest[slash..];

        var builder = new StringBuilder(uri.Length + 1);
        builder.Append(defaultPort == 443 ? "https://" : "http://");
        if (!AppendAuthority(authority, defaultPort, builder) || !AppendPath(path, builder))
        {
            return false;
        }

        normalized = builder.ToString();
        return true;
    }

    private static bool AppendAuthority(ReadOnlySpan<char> authority, int defaultPort, StringBuilder builder)
    {
        // Userinfo in an http(s) URI is deprecated and a phishing vector (RFC 9110 §4.2.4): refused, not stripped.
        if (authority.Contains('@'))
        {
            return false;
        }

        ReadOnlySpan<char> host;
        ReadOnlySpan<char> port;
        if (authority.StartsWith('['))
        {
            // IP-literal (RFC 3986 §3.2.2): hex digits, colons and dots for IPv6; IPvFuture is refused.
            var close = authority.IndexOf(']');
            if (close < 0)
            {
                return false;
            }

            host = authority[..(close + 1)];
            var inner = host[1..^1];
            if (inner.IsEmpty || inner.ContainsAnyExcept(IpLiteralChars))
            {
                return false;
            }

            var after = authority[(close + 1)..];
            if (!after.IsEmpty && after[0] != ':')
            {
                return false;
            }

            port = after.IsEmpty ? [] : after[1..];
            builder.Append(host.ToString().ToLowerInvariant());
        }
        else
        {
            var portColon = authority.IndexOf(':');
            host = portColon < 0 ? authority : authority[..portColon];
            port = portColon < 0 ? [] : authority[(portColon + 1)..];
            if (host.IsEmpty || !AppendNormalized(host, lowerCase: true, allowSlash: false, builder))
            {
                return false;
            }
        }

        // Port (RFC 3986 §3.2.3): digits only; an empty or default port is dropped (§6.2.3), any other written as its
        // decimal value, so ":0443" is the default port too.
        if (port.IsEmpty)
        {
            return true;
        }

        if (port.ContainsAnyExceptInRange('0', '9') || !int.TryParse(port.TrimStart('0'), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            // All zeros trims to empty: port 0 is no port a request is sent to.
            return false;
        }

        if (number is <= 0 or > 65535)
        {
            return false;
        }

        if (number != defaultPort)
        {
            builder.Append(':').Append(number.ToString(CultureInfo.InvariantCulture));
        }

        return true;
    }

    private static bool AppendPath(ReadOnlySpan<char> path, StringBuilder builder)
    {
        // An empty path is "/" for http(s) (RFC 3986 §6.2.3).
        if (path.IsEmpty)
        {
            builder.Append('/');
            return true;
        }

        // Percent-encodings first, then dot segments: "%2E%2E" is ".." once decoded (RFC 3986 §6.2.2 order).
        var decoded = new StringBuilder(path.Length);
        if (!AppendNormalized(path, lowerCase: false, allowSlash: true, decoded))
        {
            return false;
        }

        AppendWithoutDotSegments(decoded.ToString(), builder);
        return true;
    }

    /// <summary>
    /// Appends a host (reg-name or IPv4) or path: unreserved, sub-delims and percent-encodings, plus <c>:</c> and
    /// <c>@</c> and <c>/</c> in a path (RFC 3986 §3.3 pchar). Percent-encodings of unreserved characters are decoded and
    /// the rest written in upper case (§6.2.2.1, §6.2.2.2); a host is lowercased.
    /// </summary>
    private static bool AppendNormalized(ReadOnlySpan<char> text, bool lowerCase, bool allowSlash, StringBuilder builder)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '%')
            {
                if (i + 2 >= text.Length || !HexDigits.Contains(text[i + 1]) || !HexDigits.Contains(text[i + 2]))
                {
                    return false;
                }

                var value = (char)((HexValue(text[i + 1]) << 4) | HexValue(text[i + 2]));
                if (Unreserved.Contains(value))
                {
                    builder.Append(lowerCase ? char.ToLowerInvariant(value) : value);
                }
                else
                {
                    builder.Append('%').Append(char.ToUpperInvariant(text[i + 1])).Append(char.ToUpperInvariant(text[i + 2]));
                }

                i += 2;
            }
            else if (Unreserved.Contains(c) || SubDelims.Contains(c) || (allowSlash && c is '/' or ':' or '@'))
            {
                builder.Append(lowerCase ? char.ToLowerInvariant(c) : c);
            }
            else
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>RFC 3986 §5.2.4 remove_dot_segments for an absolute path, segment by segment.</summary>
    private static void AppendWithoutDotSegments(string path, StringBuilder builder)
    {
        // The path starts with "/": segments are what follows each slash. "." is dropped, ".." drops the segment
        // before it (never above the root), and a final "." or ".." leaves a trailing slash, as the RFC's buffer
        // algorithm does ("/a/b/.." is "/a/").
        var segments = path[1..].Split('/');
        var kept = new List<string>(segments.Length);
        var trailingSlash = false;
        foreach (var segment in segments)
        {
            trailingSlash = false;
            if (segment == ".")
            {
                trailingSlash = true;
            }
            else if (segment == "..")
            {
                if (kept.Count > 0)
                {
                    kept.RemoveAt(kept.Count - 1);
                }

                trailingSlash = true;
            }
            else
            {
                kept.Add(segment);
            }
        }

        builder.Append('/').AppendJoin('/', kept);
        if (trailingSlash && kept.Count > 0)
        {
            builder.Append('/');
        }
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => c - 'A' + 10,
    };
}
