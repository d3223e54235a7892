namespace Broker.Authentication;

/// <summary>
/// Reads <c>Authorization: Bearer &lt;token&gt;</c> (RFC 6750 §2.1), within a length bound, and nothing
/// else. Kept apart from validation so another credential form (DPoP, RFC 9449 §7) can read its own
/// header and hand the same token to <see cref="WorkloadAuthenticator"/>.
/// </summary>
internal static class BearerCredential
{
    /// <summary>The RFC 6750 scheme name, also the one a 401 challenge names.</summary>
    public const string Scheme = "Bearer";

    /// <summary>What the request carries.</summary>
    internal enum Status
    {
        /// <summary>No Authorization header, or one of another scheme: not ours to judge.</summary>
        None = 0,

        /// <summary>A bearer token within the bound.</summary>
        Present = 1,

        /// <summary>A Bearer header that is not one well-formed token within the bound.</summary>
        Malformed = 2,
    }

    /// <summary>Reads the bearer token of <paramref name="request"/>; longer than <paramref name="maxLength"/> is malformed.</summary>
    public static Status Read(HttpRequest request, int maxLength, out string? token)
    {
        ArgumentNullException.ThrowIfNull(request);
        token = null;
        var values = request.Headers.Authorization;
        if (values.Count == 0)
        {
            return Status.None;
        }

        // Two Authorization headers, or one listing two credentials: which one would speak? Neither.
        if (values.Count > 1)
        {
            return Status.Malformed;
        }

        var header = values[0].AsSpan();
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
            || (header.Length > Scheme.Length && header[Scheme.Length] != ' '))
        {
            return Status.None;
        }

        // Bound before anything else is done with it: the header may be as long as Kestrel allows.
        var value = header[Scheme.Length..].Trim(' ');
        if (value.IsEmpty || value.Length > maxLength || !IsB64Token(value))
        {
            return Status.Malformed;
        }

        token = value.ToString();
        return Status.Present;
    }

    /// <summary>RFC 6750 §2.1 b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "=" padding.</summary>
    private static bool IsB64Token(ReadOnlySpan<char> value)
    {
        var padding = false;
        foreach (var c in value)
        {
            if (c == '=')
            {
                padding = true;
                continue;
            }

            if (padding || !(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '+' or '/'))
            {
                return false;
            }
        }

        return true;
    }
}
