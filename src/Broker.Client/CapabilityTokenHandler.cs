// Broker.Client — the agent side of the Broker.

using System.Net;
using System.Net.Http.Json;
using Broker.Client.Internal;
using Broker.Jose.DPoP;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Client;

/// <summary>
/// Attaches a capability token for one <see cref="CapabilityRequest"/> to every outgoing request, from a
/// <see cref="CapabilityTokenCache"/>: a DPoP-bound token as <c>Authorization: DPoP</c> with a <c>DPoP</c> proof of this
/// request (method, URI, <c>ath</c> of the token, the server's latest nonce; RFC 9449 §7), a bearer token as
/// <c>Authorization: Bearer</c>. When the resource server answers 401 <c>use_dpop_nonce</c> with a <c>DPoP-Nonce</c>
/// (RFC 9449 §9), the request is sent once more with a proof carrying that nonce. When it answers any other 401, the
/// token is dropped from the cache and the request is sent once more with a new one. Either resend happens only if the
/// content can be sent again (no content, or buffered content); a streamed body is not replayed and the 401 is returned.
/// </summary>
/// <remarks>
/// <para>A request that already carries an <c>Authorization</c> header set by the caller is sent unchanged.</para>
/// <para>
/// A token goes only to the origin (scheme, host and port) of the capability's resource, or to the origins given
/// explicitly: a request for any other URL (a link from a tool's output, a misconfigured base address) fails with
/// <see cref="HttpRequestException"/> before anything is sent, so a bearer token can never be handed to a server it
/// was not minted for.
/// </para>
/// </remarks>
public sealed class CapabilityTokenHandler : DelegatingHandler
{
    // Marks requests whose Authorization header this handler set, so an outer retry handler resending the same
    // message gets a current token instead of being mistaken for a caller-authorized request.
    private static readonly HttpRequestOptionsKey<bool> Stamped = new("Broker.Client.CapabilityToken");

    private readonly CapabilityTokenCache _cache;
    private readonly CapabilityRequest _request;
    private readonly ILogger _logger;
    private readonly HashSet<string> _origins;

    /// <summary>Creates the handler.</summary>
    /// <param name="cache">Where tokens come from.</param>
    /// <param name="request">What the tokens are for.</param>
    /// <param name="logger">Logger; none by default.</param>
    /// <param name="origins">
    /// The origins the token may be sent to; by default the origin of <see cref="CapabilityRequest.Resource"/>. Name them
    /// when the MCP server is reached at another address than its resource URI, or when the request names only an audience.
    /// </param>
    /// <exception cref="ArgumentException">No origin: the request has no resource and none was given, or one is not an absolute http(s) URI.</exception>
    public CapabilityTokenHandler(CapabilityTokenCache cache, CapabilityRequest request, ILogger<CapabilityTokenHandler>? logger = null, IEnumerable<Uri>? origins = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(request);
        _cache = cache;
        _request = request;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _origins = AllowedOrigins(request, origins);
    }

    /// <summary>The origins a token for <paramref name="request"/> may be sent to.</summary>
    internal static HashSet<string> AllowedOrigins(CapabilityRequest request, IEnumerable<Uri>? origins)
    {
        var allowed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var origin in origins ?? (request.Resource is null ? [] : [new Uri(request.Resource)]))
        {
            allowed.Add(OriginOf(origin) ?? throw new ArgumentException($"'{origin}' is not an absolute http or https URI.", nameof(origins)));
        }

        return allowed.Count > 0
            ? allowed
            : throw new ArgumentException("A capability token handler needs the origins its token may go to: give the request a resource, or name the origins.", nameof(origins));
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers.Authorization is not null && !(request.Options.TryGetValue(Stamped, out var stamped) && stamped))
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        if (request.RequestUri is not { } target || OriginOf(target) is not { } origin || !_origins.Contains(origin))
        {
            // Nothing is sent: the token must not leave for a server it was not minted for (RFC 9700 §4.10.1).
            Log.TokenWithheld(_logger, request.RequestUri?.IsAbsoluteUri == true ? request.RequestUri.Host : null, _request.Resource ?? _request.Audience);
            throw new HttpRequestException($"broker-client: a capability token for '{string.Join(' ', _request.Capabilities)}' is not sent to {(request.RequestUri?.IsAbsoluteUri == true ? OriginOf(request.RequestUri) : "a relative URI")}; it goes only to {string.Join(", ", _origins.Order(StringComparer.Ordinal))}.");
        }

        var token = await _cache.GetTokenAsync(_request, cancellationToken).ConfigureAwait(false);
        var response = await SendWithAsync(request, token, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized || !CanResend(request.Content))
        {
            return response;
        }

        // RFC 9449 §9: the resource server wants a nonce of its own in the proof, and sent one (now remembered).
        // Once: a server that refuses a proof with its own fresh nonce is not asked again, nor is a new token any help.
        if (token.Key is not null && IsNonceChallenge(response) && response.Headers.Contains(DPoPConstants.NonceHeaderName))
        {
            Log.DPoPNonceRetry(_logger, request.RequestUri?.Host);
            response.Dispose();
            response = await SendWithAsync(request, token, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Unauthorized || IsNonceChallenge(response))
            {
                return response;
            }
        }

        // RFC 6750 §3.1 invalid_token: revoked, or the resource server's clock or keys differ from ours. One fresh
        // token settles the first two; a second 401 is the resource server's answer and is returned as is.
        Log.TokenRejected(_logger, request.RequestUri?.Host, token.Scope);
        response.Dispose();
        _cache.Invalidate(_request, token);
        return await SendWithAsync(request, await _cache.GetTokenAsync(_request, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends <paramref name="request"/> with <paramref name="token"/>, and a fresh proof when it is DPoP-bound.</summary>
    private async Task<HttpResponseMessage> SendWithAsync(HttpRequestMessage request, CapabilityToken token, CancellationToken cancellationToken)
    {
        // RFC 9449 §7.1: a DPoP-bound token with the DPoP scheme and a proof of this very request hashing this token
        // (§4.2 ath); a new proof for every send, resends included, since each jti is accepted once.
        token.Authorize(request);
        request.Options.Set(Stamped, true);
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);

        // RFC 9449 §8.2, §9: a server may send its next nonce with any answer.
        token.Key?.RememberNonce(request.RequestUri!, response);
        return response;
    }

    /// <summary>A <c>WWW-Authenticate: DPoP</c> challenge with <c>error="use_dpop_nonce"</c> (RFC 9449 §7.1, §9).</summary>
    private static bool IsNonceChallenge(HttpResponseMessage response) =>
        response.Headers.WwwAuthenticate.Any(c => string.Equals(c.Scheme, DPoPConstants.AuthenticationScheme, StringComparison.OrdinalIgnoreCase)
            && ChallengeParameter(c.Parameter, "error") == DPoPConstants.UseDPoPNonce);

    /// <summary>One auth-param of a challenge (RFC 9110 §11.2): a token or a quoted-string, unescaped.</summary>
    internal static string? ChallengeParameter(string? parameters, string name)
    {
        var i = 0;
        while (parameters is not null && i < parameters.Length)
        {
            while (i < parameters.Length && parameters[i] is ' ' or '\t' or ',')
            {
                i++;
            }

            var equals = parameters.IndexOf('=', i);
            if (equals < 0)
            {
                return null;
            }

            var key = parameters[i..equals].Trim();
            i = equals + 1;
            while (i < parameters.Length && parameters[i] is ' ' or '\t')
            {
                i++;
            }

            var value = new System.Text.StringBuilder();
            if (i < parameters.Length && parameters[i] == '"')
            {
                for (i++; i < parameters.Length && parameters[i] != '"'; i++)
                {
                    if (parameters[i] == '\\' && i + 1 < parameters.Length)
                    {
                        i++;
                    }

                    value.Append(parameters[i]);
                }

                i++;
            }
            else
            {
                for (; i < parameters.Length && parameters[i] != ','; i++)
                {
                    value.Append(parameters[i]);
                }
            }

            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return value.ToString().Trim();
            }
        }

        return null;
    }

    /// <summary>RFC 6454 origin: scheme, host and port (the default port made explicit); null for anything but absolute http(s).</summary>
    private static string? OriginOf(Uri uri) =>
        uri.IsAbsoluteUri && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? $"{uri.Scheme}://{uri.IdnHost}:{uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
            : null;

    /// <summary>Content that produces the same bytes when serialized again.</summary>
    private static bool CanResend(HttpContent? content) => content switch
    {
        null => true,
        ByteArrayContent or ReadOnlyMemoryContent or JsonContent => true,
        MultipartContent multipart => multipart.All(CanResend),
        _ => false,
    };
}
