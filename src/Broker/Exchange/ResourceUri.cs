namespace Broker.Exchange;

/// <summary>RFC 8707 resource indicators: absolute URIs without a fragment.</summary>
public static class ResourceUri
{
    /// <summary>Longest accepted resource URI.</summary>
    public const int MaxLength = 2048;

    /// <summary>
    /// An absolute https URI without fragment or user info. Plain http is accepted only for loopback
    /// hosts and only when <paramref name="allowInsecureLoopback"/> is set (dev and tests).
    /// </summary>
    public static bool IsValid(string value, bool allowInsecureLoopback)
    {
        if (value.Length is 0 or > MaxLength || !Uri.TryCreate(value, UriKind.Absolute, out var uri))
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
