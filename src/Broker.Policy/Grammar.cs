namespace Broker.Policy;

/// <summary>
/// The syntax of what a token request names and a policy declares: task IDs and purposes, capability names
/// (scope tokens), tenant names and resource URIs. One copy for the broker's token endpoint and admin API, the
/// policy loader, <c>brokerctl</c> and the agent-side client, so a value the client accepts is one the broker
/// reads and a name a policy declares is one a request can send.
/// </summary>
public static class Grammar
{
    /// <summary>Longest task ID or purpose.</summary>
    public const int MaxTaskContextLength = 128;

    /// <summary>Longest capability name (scope token) or tenant name.</summary>
    public const int MaxNameLength = 128;

    /// <summary>Longest resource URI.</summary>
    public const int MaxResourceUriLength = 2048;

    /// <summary>
    /// Most capabilities in one token unless the broker is configured otherwise (<c>Broker:Exchange:MaxCapabilities</c>).
    /// </summary>
    public const int DefaultMaxCapabilities = 16;

    /// <summary>Longest <c>audience</c> unless the broker is configured otherwise (<c>Broker:Exchange:MaxAudienceLength</c>).</summary>
    public const int DefaultMaxAudienceLength = 256;

    /// <summary>
    /// The purpose of a grant that declared none (a jwt-bearer grant without <c>purpose</c>), in its token, grant
    /// record and audit events. Outside the grammar on purpose: no client can send it and no policy can list it
    /// (the loader checks <c>purposes</c> with <see cref="IsTaskContextValue"/>), so a rule that names purposes
    /// never matches a request without one, and verifiers, which need a non-empty <c>purpose</c> claim, still get one.
    /// </summary>
    public const string NoPurpose = "(none)";

    /// <summary>
    /// A <c>task_id</c> or <c>purpose</c>: 1-128 characters of <c>A-Z a-z 0-9 . _ : / -</c>. Short, printable and
    /// free of separators that could confuse a log line or a Redis key.
    /// </summary>
    /// <param name="value">The value to check.</param>
    /// <returns>True when <paramref name="value"/> is in the grammar.</returns>
    public static bool IsTaskContextValue(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxTaskContextLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '/' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A capability name: an RFC 6749 §3.3 scope-token (<c>%x21 / %x23-5B / %x5D-7E</c>) of 1-128 characters.</summary>
    /// <param name="value">The value to check.</param>
    /// <returns>True when <paramref name="value"/> is in the grammar.</returns>
    public static bool IsScopeToken(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxNameLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(c == '!' || (c >= '#' && c <= '[') || (c >= ']' && c <= '~')))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A tenant name: 1-128 characters of <c>a-z 0-9 . _ -</c>. The policy loader also refuses <c>.</c> and
    /// <c>..</c>, since a tenant's name is a URL path segment (its status list).
    /// </summary>
    /// <param name="value">The value to check.</param>
    /// <returns>True when <paramref name="value"/> is in the grammar.</returns>
    public static bool IsTenantName(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxNameLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// An RFC 8707 resource indicator: an absolute https URI of at most 2048 characters, without fragment or user
    /// info. Plain http is accepted only for loopback hosts and only with <paramref name="allowInsecureLoopback"/>
    /// (dev and tests).
    /// </summary>
    /// <param name="value">The value to check.</param>
    /// <param name="allowInsecureLoopback">Accept <c>http://</c> on a loopback host.</param>
    /// <returns>True when <paramref name="value"/> is in the grammar.</returns>
    public static bool IsResourceUri(string value, bool allowInsecureLoopback)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length is 0 or > MaxResourceUriLength || !Uri.TryCreate(value, UriKind.Absolute, out var uri))
        {
            return false;
        }

        if (uri.Fragment.Length > 0 || uri.UserInfo.Length > 0 || value.Contains('#', StringComparison.Ordinal))
        {
            return false;
        }

        return uri.Scheme == Uri.UriSchemeHttps || (allowInsecureLoopback && uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback);
    }
}
