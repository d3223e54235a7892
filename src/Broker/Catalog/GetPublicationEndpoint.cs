using Broker.Errors;
using Broker.Policy;

namespace Broker.Catalog;

/// <summary>
/// <c>GET /catalog/v1/resources?resource=</c>: a resource's current publication (version, publisher, tools) as far as
/// the caller may see it: tools under capabilities it may discover or publish, or all of them for an admin of the
/// tenant (or a global admin placed in it). 404 when nothing it may see is published there. The <c>ETag</c> is the entry's version, for
/// <c>If-Match</c> on the next publish or unpublish.
/// </summary>
internal sealed class GetPublicationEndpoint(IPolicyProvider policyProvider, ICatalogStore store)
{
    public const string Action = "catalog.read";

    public async Task<IResult> HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var caller = CatalogCaller.From(context, policyProvider);
        if (caller is null)
        {
            return ErrorWriter.Result(ErrorCatalog.CatalogForbidden);
        }

        if (!CatalogGate.TryReadResource(context.Request, out var resource))
        {
            return ErrorWriter.Result(ErrorCatalog.CatalogInvalidResource);
        }

        var admin = caller.Principal.IsGlobalAdmin || caller.Principal.IsAdminOf(caller.Tenant);
        var visible = caller.CapabilitiesOn(resource)
            .Where(c => admin || (caller.AccessTo(c).Permissions & (CapabilityPermissions.Discover | CapabilityPermissions.Publish)) != 0)
            .Select(c => c.Name)
            .ToHashSet(StringComparer.Ordinal);

        // Nothing looked up for a resource the caller may see nothing of: its existence is not disclosed either.
        var entry = visible.Count == 0 ? null : await store.GetAsync(caller.Tenant.Name, resource, cancellationToken);
        if (entry?.Current is not { } publication || !publication.Tools.Any(t => visible.Contains(t.Capability)))
        {
            return ErrorWriter.Result(ErrorCatalog.CatalogNotFound);
        }

        context.Response.Headers.ETag = CatalogGate.ETag(entry.Version);
        context.Response.Headers.CacheControl = "no-store";
        return Results.Json(Views.Of(publication, null, t => visible.Contains(t.Capability)), CatalogJsonContext.Default.PublicationView);
    }
}
