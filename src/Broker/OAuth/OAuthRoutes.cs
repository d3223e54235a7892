using Broker.Errors;

namespace Broker.OAuth;

/// <summary>Maps an OAuth endpoint: POST to its handler, every other method to one 405 answer.</summary>
internal static class OAuthRoutes
{
    /// <summary>The <c>Allow</c> header of a 405 from an OAuth endpoint (RFC 9110 §15.5.6).</summary>
    public const string Allow = "POST";

    /// <summary>
    /// The token endpoint's path; the issuer's URL followed by it is the <c>token_endpoint</c> of the RFC 8414 metadata,
    /// which subject token audiences and DPoP proofs' <c>htu</c> (RFC 9449 §4.3) are checked against. Here, below the
    /// folders that need it, rather than in <c>Exchange/</c>, which depends on them.
    /// </summary>
    public const string TokenPath = "/oauth2/token";

    /// <summary>
    /// Maps <c>POST <paramref name="pattern"/></c> to <paramref name="handler"/>, and any other method on the same
    /// path (GET, PUT, DELETE, PATCH, HEAD, OPTIONS, made-up ones) to 405 with <c>Allow: POST</c> and the RFC 6749
    /// §5.2 body. Without it routing answers an empty 405 that a client cannot tell from a proxy's.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The path.</param>
    /// <param name="handler">The POST handler.</param>
    /// <param name="methodNotAllowed">
    /// Answers the 405 instead of the default (the token endpoint audits it first); it must write the response with
    /// <see cref="WriteMethodNotAllowedAsync"/>.
    /// </param>
    /// <returns>The POST route, for conventions (authorization, rate limits) of that endpoint.</returns>
    public static RouteHandlerBuilder MapOAuthPost(this IEndpointRouteBuilder endpoints, string pattern, Delegate handler, RequestDelegate? methodNotAllowed = null)
    {
        // No method constraint and a higher order than the POST route, so routing picks it only when POST does not
        // match, whatever the method is.
        endpoints.Map(pattern, methodNotAllowed ?? WriteMethodNotAllowedAsync)
            .WithOrder(1)
            .WithDisplayName($"{pattern} (405)")
            .AllowAnonymous()
            .DisableAntiforgery();

        return endpoints.MapPost(pattern, handler).DisableAntiforgery();
    }

    /// <summary>Writes the 405 of an OAuth endpoint.</summary>
    public static Task WriteMethodNotAllowedAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return ErrorWriter.WriteAsync(context, ErrorCatalog.MethodNotAllowed, new ErrorResponseOptions(Allow: Allow), context.RequestAborted);
    }
}
