using System.Globalization;
using Broker.Errors;
using Broker.Grants;
using Broker.Policy;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Broker.StatusList;

/// <summary>
/// <c>GET /statuslists/v1/{tenant}</c>: the tenant's Status List Token (draft-ietf-oauth-status-list §8.1, §8.2),
/// signed with the broker's active key, so verifiers check it against the JWKS they already use for tokens.
/// </summary>
/// <remarks>
/// Public, like the JWKS: a list says only which opaque indexes are revoked, and a verifier that polls should not need
/// a credential to do it (the draft expects lists on public endpoints and CDNs, §12.6). What it does reveal: that the
/// tenant name exists (an unknown one is a 404), and how many of the tenant's tokens were revoked recently. See
/// docs/mcp.md "Token Status List".
/// </remarks>
internal sealed class StatusListEndpoint(IPolicyProvider policyProvider, StatusListTokens tokens, IOptions<StatusListOptions> options)
{
    private readonly string _cacheControl = string.Create(CultureInfo.InvariantCulture, $"public, max-age={(long)options.Value.Ttl.TotalSeconds}");

    public async Task HandleAsync(HttpContext context, string tenant, CancellationToken cancellationToken)
    {
        // Only names the policy could define reach the policy, the cache or a key name; anything else is no list.
        if (!Grammar.IsTenantName(tenant))
        {
            await ErrorWriter.WriteAsync(context, ErrorCatalog.StatusListNotFound, cancellationToken: cancellationToken);
            return;
        }

        if (policyProvider.Current is not { } policy)
        {
            await ErrorWriter.WriteAsync(context, ErrorCatalog.PolicyUnavailable, cancellationToken: cancellationToken);
            return;
        }

        if (!policy.Tenants.ContainsKey(tenant))
        {
            await ErrorWriter.WriteAsync(context, ErrorCatalog.StatusListNotFound, cancellationToken: cancellationToken);
            return;
        }

        // §8.1: the relying party asks for application/statuslist+jwt; no Accept at all means the same (the type is
        // known out of band), but a client that asks only for something else (the CWT form) is told so.
        if (!Accepts(context.Request))
        {
            await ErrorWriter.WriteAsync(context, ErrorCatalog.StatusListNotAcceptable, cancellationToken: cancellationToken);
            return;
        }

        // A store outage surfaces as GrantStoreUnavailableException: 503 from the shared exception handler.
        var token = await tokens.GetAsync(tenant, cancellationToken);
        var response = context.Response;
        response.Headers[HeaderNames.CacheControl] = _cacheControl;
        response.Headers[HeaderNames.ETag] = token.ETag;
        if (NotModified(context.Request, token.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.ContentType = StatusListTokens.MediaType;
        response.ContentLength = token.Body.Length;
        await response.Body.WriteAsync(token.Body, cancellationToken);
    }

    private static bool Accepts(HttpRequest request)
    {
        if (request.Headers.Accept.Count == 0)
        {
            return true;
        }

        return MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted)
            && accepted.Any(a => a.Quality is not 0
                && (a.MediaType.Equals(StatusListTokens.MediaType, StringComparison.OrdinalIgnoreCase)
                    || a.MediaType.Equals("application/*", StringComparison.OrdinalIgnoreCase)
                    || a.MediaType.Equals("*/*", StringComparison.Ordinal)));
    }

    /// <summary>RFC 9110 §13.1.2: If-None-Match, weak comparison, <c>*</c> matching any current representation.</summary>
    private static bool NotModified(HttpRequest request, string etag)
    {
        if (request.Headers.IfNoneMatch.Count == 0
            || !EntityTagHeaderValue.TryParseList(request.Headers.IfNoneMatch, out var tags))
        {
            return false;
        }

        var current = EntityTagHeaderValue.Parse(etag);
        return tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(current, useStrongComparison: false));
    }
}
