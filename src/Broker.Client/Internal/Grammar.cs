// Broker.Client — the agent side of the Broker.

namespace Broker.Client.Internal;

/// <summary>
/// The broker's syntactic rules for request parameters, repeated here so that a malformed request fails
/// in the agent with a precise message instead of as an <c>invalid_request</c> round trip.
/// </summary>
internal static class Grammar
{
    /// <summary>Longest <c>task_id</c> or <c>purpose</c>.</summary>
    public const int MaxTaskContextLength = 128;

    /// <summary>Longest capability name (scope token).</summary>
    public const int MaxCapabilityLength = 128;

    /// <summary>Most capabilities in one request (the broker's default limit).</summary>
    public const int MaxCapabilities = 16;

    /// <summary>Longest <c>audience</c>.</summary>
    public const int MaxAudienceLength = 256;

    /// <summary>Longest <c>resource</c> URI.</summary>
    public const int MaxResourceLength = 2048;

    /// <summary>1-128 characters of <c>A-Z a-z 0-9 . _ : / -</c>.</summary>
    public static bool IsTaskContextValue(string value)
    {
        if (value.Length is 0 or > MaxTaskContextLength)
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

    /// <summary>RFC 6749 §3.3 scope-token: <c>%x21 / %x23-5B / %x5D-7E</c>, 1-128 characters.</summary>
    public static bool IsCapability(string value) =>
        value.Length is > 0 and <= MaxCapabilityLength && value.All(c => c == '!' || (c >= '#' && c <= '[') || (c >= ']' && c <= '~'));

    /// <summary>
    /// RFC 8707 resource indicator: absolute, no fragment or user info, https — or http on a loopback host, which
    /// the broker accepts only when configured for development; it is allowed here so that the broker decides.
    /// </summary>
    public static bool IsResource(string value)
    {
        if (value.Length is 0 or > MaxResourceLength || !Uri.TryCreate(value, UriKind.Absolute, out var uri))
        {
            return false;
        }

        if (uri.UserInfo.Length > 0 || value.Contains('#', StringComparison.Ordinal))
        {
            return false;
        }

        return uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback);
    }

    /// <summary>An endpoint the subject token may be sent to: https, or http on a loopback host only.</summary>
    public static bool IsSecureEndpoint(Uri endpoint) =>
        endpoint.IsAbsoluteUri
        && endpoint.UserInfo.Length == 0
        && endpoint.Fragment.Length == 0
        && (endpoint.Scheme == Uri.UriSchemeHttps || (endpoint.Scheme == Uri.UriSchemeHttp && endpoint.IsLoopback));
}
