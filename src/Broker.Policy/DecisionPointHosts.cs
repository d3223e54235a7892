using System.Collections.Frozen;
using System.Globalization;

namespace Broker.Policy;

/// <summary>
/// The hosts an operator lets tenants' decision points (<c>decision_points:</c>) name, so that a tenant's policy cannot
/// make the broker POST to any URL it likes, internal ones included (server-side request forgery). Each entry is an exact
/// host name or IP literal, optionally with a port: <c>pdp.example</c> allows that host on the default port of the URL's
/// scheme (443 for https), <c>pdp.example:8443</c> that port only. No wildcards, no suffixes: <c>example</c> does not
/// allow <c>pdp.example</c>. Host names compare case-insensitively (DNS names do, RFC 4343). An empty list allows none.
/// </summary>
public sealed class DecisionPointHosts
{
    private const int MaxEntryLength = 261;

    private readonly FrozenSet<string> _authorities;

    private DecisionPointHosts(FrozenSet<string> authorities) => _authorities = authorities;

    /// <summary>No host: every decision point is refused (the default).</summary>
    public static DecisionPointHosts None { get; } = new(FrozenSet<string>.Empty);

    /// <summary>Whether no host is allowed.</summary>
    public bool IsEmpty => _authorities.Count == 0;

    /// <summary>
    /// The allowlist of <paramref name="entries"/>; false, with the entries that are not a plain <c>host</c> or
    /// <c>host:port</c> in <paramref name="invalid"/>, when any is not.
    /// </summary>
    public static bool TryCreate(IEnumerable<string> entries, out DecisionPointHosts hosts, out IReadOnlyList<string> invalid)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var authorities = new HashSet<string>(StringComparer.Ordinal);
        var bad = new List<string>();
        foreach (var entry in entries)
        {
            if (Normalize(entry) is { } authority)
            {
                authorities.Add(authority);
            }
            else
            {
                bad.Add(entry);
            }
        }

        hosts = bad.Count == 0 ? new DecisionPointHosts(authorities.ToFrozenSet(StringComparer.Ordinal)) : None;
        invalid = bad;
        return bad.Count == 0;
    }

    /// <summary>The allowlist of <paramref name="entries"/> (static input: throws on an invalid entry).</summary>
    public static DecisionPointHosts Create(params IEnumerable<string> entries) =>
        TryCreate(entries, out var hosts, out var invalid)
            ? hosts
            : throw new ArgumentException($"not a host or host:port: {string.Join(", ", invalid)}", nameof(entries));

    /// <summary>Whether <paramref name="url"/>'s host and port (explicit or the scheme's default) are allowed.</summary>
    public bool Allows(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return url.IsAbsoluteUri && url.Port > 0 && _authorities.Contains(Authority(url.IdnHost, url.Port));
    }

    /// <summary>
    /// <c>host:port</c> in canonical form (lower case, punycode, IPv6 in brackets, the port explicit; no port = 443, the
    /// default of https, the scheme decision points use), or null when <paramref name="entry"/> is anything more than a
    /// host and an optional port: a scheme, a path, user info, a query, a wildcard, an escape.
    /// </summary>
    private static string? Normalize(string? entry)
    {
        if (string.IsNullOrWhiteSpace(entry) || entry.Length > MaxEntryLength || entry.Trim() != entry
            || entry.Any(c => c < 128 && !char.IsAsciiLetterOrDigit(c) && c is not ('.' or '-' or ':' or '[' or ']'))
            || !Uri.TryCreate("https://" + entry, UriKind.Absolute, out var uri)
            || uri.HostNameType is UriHostNameType.Unknown or UriHostNameType.Basic
            || uri.AbsolutePath != "/" || uri.Host.Length == 0 || uri.Port <= 0)
        {
            return null;
        }

        // Uri accepts "host:" (an empty port) as the default port: only digits after a colon are a port here.
        var colon = entry.LastIndexOf(':');
        var hasPort = !entry.EndsWith(']') && colon > 0 && (entry.IndexOf(':') == colon || entry.StartsWith('['));
        if (hasPort && (colon == entry.Length - 1 || entry.AsSpan(colon + 1).ContainsAnyExceptInRange('0', '9')))
        {
            return null;
        }

        return Authority(uri.IdnHost, uri.Port);
    }

    private static string Authority(string host, int port)
    {
        var lower = host.ToLowerInvariant();
        return string.Create(CultureInfo.InvariantCulture, $"{(lower.Contains(':', StringComparison.Ordinal) && !lower.StartsWith('[') ? "[" + lower + "]" : lower)}:{port}");
    }
}
