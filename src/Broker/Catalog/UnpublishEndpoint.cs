using Broker.Audit;
using Broker.Errors;
using Broker.Policy;

namespace Broker.Catalog;

/// <summary>
/// <c>DELETE /catalog/v1/resources?resource=</c>: removes a resource's publication. Needs <c>publish</c> on every
/// capability it has tools under (that policy still declares there). In a tenant that requires publication each of
/// those capabilities is withdrawn: no longer executable, and announced on the revocation feed so verifiers stop
/// honouring its tokens. The entry keeps its version, so a later publication continues from it.
/// </summary>
internal sealed class UnpublishEndpoint(IPolicyProvider policyProvider, ICatalogStore store, CatalogGate gate, ILogger<UnpublishEndpoint> logger)
{
    public const string Action = AuditEventTypes.CatalogUnpublish;

    public async Task<IResult> HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var caller = CatalogCaller.From(context, policyProvider);
        if (caller is null)
        {
            return ErrorWriter.Result(ErrorCatalog.CatalogForbidden);
        }

        if (!CatalogGate.TryReadResource(context.Request, out var resource))
        {
            return await RefuseAsync(context, caller, "", [], ErrorCatalog.CatalogInvalidResource);
        }

        var onResource = caller.CapabilitiesOn(resource);
        if (!onResource.Any(c => caller.AccessTo(c).Has(CapabilityPermissions.Publish)))
        {
            return await RefuseAsync(context, caller, resource, [.. onResource.Select(c => c.Name)], ErrorCatalog.CatalogPublishForbidden);
        }

        if (!CatalogGate.TryReadPrecondition(context.Request, out var precondition) || precondition.Kind == PreconditionKind.NothingPublished)
        {
            return await RefuseAsync(context, caller, resource, [], ErrorCatalog.CatalogInvalidPrecondition);
        }

        for (var attempt = 0; attempt < 3; attempt++)
        {
            var entry = await store.GetAsync(caller.Tenant.Name, resource, cancellationToken);
            if (entry?.Current is not { } before)
            {
                return await RefuseAsync(context, caller, resource, [], ErrorCatalog.CatalogNotFound);
            }

            if (!precondition.IsMetBy(entry))
            {
                return await RefuseAsync(context, caller, resource, [], ErrorCatalog.CatalogPreconditionFailed);
            }

            var concerned = before.Capabilities().Where(c => onResource.Any(o => o.Name == c)).ToList();
            if (concerned.Any(name => !caller.AccessTo(caller.Tenant.Capabilities[name]).Has(CapabilityPermissions.Publish)))
            {
                return await RefuseAsync(context, caller, resource, concerned, ErrorCatalog.CatalogPublishForbidden);
            }

            var withdrawals = gate.Withdrawals(caller.Tenant, resource, before.Capabilities());
            var change = CatalogDiff.Of(entry.Version + 1, before.Tools, [], [.. withdrawals.Select(w => w.Withdrawal.Capability)]);
            var auditEvent = gate.Allowed(context, Action, caller, resource, concerned, [], change);
            var result = await store.UnpublishAsync(caller.Tenant.Name, resource, entry.Version, withdrawals, auditEvent, cancellationToken);
            if (result is CatalogWriteResult.Written written)
            {
                gate.LogRecorded(auditEvent);
                Log.Unpublished(logger, caller.Principal.QualifiedId, resource, caller.Tenant.Name, written.Version, withdrawals.Count);
                context.Response.Headers.ETag = CatalogGate.ETag(written.Version);
                context.Response.Headers.CacheControl = "no-store";
                return Results.Json(new UnpublishView(caller.Tenant.Name, resource, written.Version, "unpublished", change.Withdrawn), CatalogJsonContext.Default.UnpublishView);
            }

            if (precondition.Kind != PreconditionKind.None)
            {
                return await RefuseAsync(context, caller, resource, concerned, ErrorCatalog.CatalogPreconditionFailed);
            }
        }

        return await RefuseAsync(context, caller, resource, [], ErrorCatalog.CatalogConflict);
    }

    private async Task<IResult> RefuseAsync(HttpContext context, CatalogCaller caller, string resource, IReadOnlyList<string> capabilities, ErrorDescriptor reason)
    {
        await gate.RefuseAsync(context, Action, caller, null, resource, capabilities, reason);
        return ErrorWriter.Result(reason);
    }
}
