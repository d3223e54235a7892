// samples/Agent — an agent that gets a capability per task from the broker and calls MCP tools with it.

using System.Net;
using System.Net.Http.Headers;

namespace Agent;

/// <summary>
/// A resource server's <c>WWW-Authenticate: Bearer</c> (RFC 6750 §3) or <c>DPoP</c> (RFC 9449 §7.1) challenge: <c>error</c>,
/// <c>error_description</c> and, for 403 <c>insufficient_scope</c>, the <c>scope</c> the operation needs (MCP
/// "Scope Challenge Handling": every capability the tool needs, not only the missing ones).
/// </summary>
internal sealed record Challenge(HttpStatusCode Status, string? Error, string? Description, string? Scope)
{
    // A challenge is a few hundred characters; a longer header is not read at all.
    private const int MaxLength = 4096;

    public bool IsInsufficientScope => Status == HttpStatusCode.Forbidden && Error == "insufficient_scope";

    /// <summary>
    /// The challenge of a 401 or 403, or null when there is none or it cannot be read. A server that takes both schemes
    /// offers both (RFC 9449 §7.2) and puts the error in the one the token came with: the DPoP challenge is read when it
    /// has an error, the Bearer one otherwise.
    /// </summary>
    public static Challenge? From(HttpResponseMessage response)
    {
        if (response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden))
        {
            return null;
        }

        var bearer = Read(response, "Bearer");
        var dpop = Read(response, "DPoP");
        var parameters = dpop is not null && dpop.ContainsKey("error") ? dpop : bearer;
        if (parameters is null)
        {
            return new Challenge(response.StatusCode, null, null, null);
        }

        return new Challenge(
            response.StatusCode,
            parameters.GetValueOrDefault("error"),
            parameters.GetValueOrDefault("error_description"),
            parameters.GetValueOrDefault("scope"));
    }

    /// <summary>The parameters of the one challenge of <paramref name="scheme"/>; null when there is none, more, or it is unreadable.</summary>
    private static Dictionary<string, string>? Read(HttpResponseMessage response, string scheme)
    {
        var challenges = response.Headers.WwwAuthenticate.Where(h => string.Equals(h.Scheme, scheme, StringComparison.OrdinalIgnoreCase)).ToList();
        return challenges.Count == 1 ? ReadParameters(challenges[0]) : null;
    }

    /// <summary>
    /// RFC 9110 §11.2 auth-params: <c>name=token</c> or <c>name="quoted string"</c>, comma-separated. A parameter
    /// given twice, or anything else malformed, makes the whole challenge unreadable: two readers must not disagree.
    /// </summary>
    internal static Dictionary<string, string>? ReadParameters(AuthenticationHeaderValue header)
    {
        var text = header.Parameter ?? string.Empty;
        if (text.Length > MaxLength)
        {
            return null;
        }

        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (true)
        {
            while (i < text.Length && (text[i] is ' ' or '\t' or ','))
            {
                i++;
            }

            if (i == text.Length)
            {
                return parameters;
            }

            var nameStart = i;
            while (i < text.Length && IsTokenChar(text[i]))
            {
                i++;
            }

            var name = text[nameStart..i];
            while (i < text.Length && text[i] is ' ' or '\t')
            {
                i++;
            }

            if (name.Length == 0 || i == text.Length || text[i] != '=')
            {
                return null;
            }

            i++;
            while (i < text.Length && text[i] is ' ' or '\t')
            {
                i++;
            }

            string value;
            if (i < text.Length && text[i] == '"')
            {
                var builder = new System.Text.StringBuilder();
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    // quoted-pair: a backslash escapes the next character.
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    builder.Append(text[i]);
                    i++;
                }

                if (i == text.Length)
                {
                    return null;
                }

                i++;
                value = builder.ToString();
            }
            else
            {
                var valueStart = i;
                while (i < text.Length && IsTokenChar(text[i]))
                {
                    i++;
                }

                value = text[valueStart..i];
            }

            if (!parameters.TryAdd(name, value))
            {
                return null;
            }
        }
    }

    // RFC 9110 §5.6.2 tchar.
    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);
}

/// <summary>
/// Keeps the challenge of the last response, for the agent to read when the MCP SDK reports a failed call (it throws
/// <see cref="HttpRequestException"/> with the status code only). Calls are made one at a time.
/// </summary>
internal sealed class ChallengeRecorder : DelegatingHandler
{
    private Challenge? _last;

    public ChallengeRecorder(HttpMessageHandler innerHandler)
        : base(innerHandler)
    {
    }

    public Challenge? Last => Volatile.Read(ref _last);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);

        // JSON-RPC calls are POSTs; a GET or DELETE of the session must not overwrite a call's challenge.
        if (request.Method == HttpMethod.Post)
        {
            Volatile.Write(ref _last, Challenge.From(response));
        }

        return response;
    }
}
