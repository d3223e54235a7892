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
/// <remarks>A request that already carries an <c>Authorization</c> header set by the caller is sent unchanged.</remarks>
public sealed class CapabilityTokenHandler : DelegatingHandler
{
    // Marks requests whose Authorization header this handler set, so an outer retry handler resending the same
    // message gets a current token instead of being mistaken for a caller-authorized request.
    private static readonly HttpRequestOptionsKey<bool> Stamped = new("Broker.Client.CapabilityToken");

    private readonly CapabilityTokenCache _cache;
    private readonly CapabilityRequest _request;
    private readonly ILogger _logger;

    /// <summary>Creates the handler.</summary>
    /// <param name="cache">Where tokens come from.</param>
    /// <param name="request">What the tokens are for.</param>
    /// <param name="logger">Logger; none by default.</param>
    public CapabilityTokenHandler(CapabilityTokenCache cache, CapabilityRequest request, ILogger<CapabilityTokenHandler>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(request);
        _cache = cache;
        _request = request;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers.Authorization is not null && !(request.Options.TryGetValue(Stamped, out var stamped) && stamped))
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
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

    /// <summary>Content that produces the same bytes when serialized again.</summary>
    private static bool CanResend(HttpContent? content) => content switch
    {
        null => true,
        ByteArrayContent or ReadOnlyMemoryContent or JsonContent => true,
        MultipartContent multipart => multipart.All(CanResend),
        _ => false,
    };
}
