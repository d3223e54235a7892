// Broker.Client — the agent side of the Broker.

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Broker.Client.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Client;

/// <summary>
/// Attaches <c>Authorization: Bearer</c> with a capability token for one <see cref="CapabilityRequest"/> to every
/// outgoing request, from a <see cref="CapabilityTokenCache"/>. When the resource server answers 401, the token is
/// dropped from the cache and the request is sent once more with a new one — if its content can be sent again
/// (no content, or buffered content); a streamed body is not replayed and the 401 is returned.
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
        Authorize(request, token);
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized || !CanResend(request.Content))
        {
            return response;
        }

        // RFC 6750 §3.1 invalid_token: revoked, or the resource server's clock or keys differ from ours. One fresh
        // token settles the first two; a second 401 is the resource server's answer and is returned as is.
        Log.TokenRejected(_logger, request.RequestUri?.Host, token.Scope);
        response.Dispose();
        _cache.Invalidate(_request, token);
        Authorize(request, await _cache.GetTokenAsync(_request, cancellationToken).ConfigureAwait(false));
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private static void Authorize(HttpRequestMessage request, CapabilityToken token)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
        request.Options.Set(Stamped, true);
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
