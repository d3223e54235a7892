using Broker.Audit;
using Broker.Errors;
using Broker.Policy;
using Microsoft.Extensions.Options;

namespace Broker.Catalog;

/// <summary>
/// <c>PUT /catalog/v1/resources?resource=</c>: a workload of the tenant publishes the tools its MCP server serves on a
/// resource. Checked in order: the resource (declared by the tenant's policy), the caller's <c>publish</c> permission
/// on some capability of it, the precondition, the body (bounded, strict), each tool against policy, and
/// <c>publish</c> on every capability the change concerns (those published now and those it removes); then written
/// compare-and-set on the entry's version, with its audit event and the withdrawals it causes, in one step.
/// </summary>
internal sealed class PublishEndpoint(IPolicyProvider policyProvider, ICatalogStore store, CatalogGate gate, IOptions<CatalogOptions> options, TimeProvider timeProvider, ILogger<PublishEndpoint> logger)
{
    public const string Action = AuditEventTypes.CatalogPublish;

    /// <summary>Rounds of read-compute-write before a request without a precondition gives up with 409.</summary>
    private const int MaxAttempts = 3;

    public async Task<IResult> HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        // :: Step 1. The caller in its tenant, under one policy snapshot (the route let only tenant members in).
        var caller = CatalogCaller.From(context, policyProvider);
        if (caller is null)
        {
            return ErrorWriter.Result(ErrorCatalog.CatalogForbidden);
        }

        // :: Step 2. The resource, and publish on at least one of its capabilities before the body is read: a
        // workload that may publish nothing there learns nothing from the validation of its body.
        if (!CatalogGate.TryReadResource(context.Request, out var resource))
        {
            return await RefuseAsync(context, caller, "", [], ErrorCatalog.CatalogInvalidResource);
        }

        var onResource = caller.CapabilitiesOn(resource);
        if (!onResource.Any(c => caller.AccessTo(c).Has(CapabilityPermissions.Publish)))
        {
            // A publisher (of anything in the tenant) is told that the resource is unknown; anyone else only that it may not publish.
            var publisher = caller.Tenant.Capabilities.Values.Any(c => caller.AccessTo(c).Has(CapabilityPermissions.Publish));
            return await RefuseAsync(context, caller, resource, [.. onResource.Select(c => c.Name)],
                onResource.Count == 0 && publisher ? ErrorCatalog.CatalogUnknownResource : ErrorCatalog.CatalogPublishForbidden);
        }

        // :: Step 3. The precondition (RFC 9110 §13.1.1, §13.1.2) and the body.
        if (!CatalogGate.TryReadPrecondition(context.Request, out var precondition))
        {
            return await RefuseAsync(context, caller, resource, [], ErrorCatalog.CatalogInvalidPrecondition);
        }

        var settings = options.Value;
        var (body, bodyError) = await PublishInput.ReadAsync(context, settings, cancellationToken);
        if (bodyError is not null)
        {
            return await RefuseAsync(context, caller, resource, [], bodyError);
        }

        var (tools, toolError) = PublishInput.Check(body!, caller.Tenant, resource, settings);
        if (toolError is not null)
        {
            return await RefuseAsync(context, caller, resource, [], toolError);
        }

        // :: Step 4. Read, decide, write if nothing changed meanwhile; without a precondition, start over on a race.
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var entry = await store.GetAsync(caller.Tenant.Name, resource, cancellationToken);
            if (!precondition.IsMetBy(entry))
            {
                return await RefuseAsync(context, caller, resource, [], ErrorCatalog.CatalogPreconditionFailed, entry);
            }

            var before = entry?.Current;

            // Publish is needed on what is published now and on what this removes. A removed capability that policy no
            // longer declares on this resource is nobody's to publish: its tools may go.
            var concerned = tools!.Select(t => t.Capability)
                .Concat(before?.Capabilities().Where(c => onResource.Any(o => o.Name == c)) ?? [])
                .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            if (concerned.Any(name => !caller.AccessTo(caller.Tenant.Capabilities[name]).Has(CapabilityPermissions.Publish)))
            {
                return await RefuseAsync(context, caller, resource, concerned, ErrorCatalog.CatalogPublishForbidden);
            }

            var expected = entry?.Version ?? 0;
            var withdrawals = gate.Withdrawals(caller.Tenant, resource, CatalogDiff.Withdrawn(before, tools!));
            var change = CatalogDiff.Of(expected + 1, before?.Tools ?? [], tools!, [.. withdrawals.Select(w => w.Withdrawal.Capability)]);
            var publication = new Publication
            {
                Tenant = caller.Tenant.Name,
                Resource = resource,
                Version = expected + 1,
                Tools = tools!,
                PublishedBy = caller.Principal.QualifiedId,
                PublishedAt = timeProvider.GetUtcNow(),
                PolicyVersion = caller.Policy.Version,
            };
            var auditEvent = gate.Allowed(context, Action, caller, resource, concerned, publication.Capabilities(), change);
            var result = await store.PublishAsync(publication, expected, withdrawals, auditEvent, cancellationToken);
            if (result is CatalogWriteResult.Written written)
            {
                gate.LogRecorded(auditEvent);
                Log.Published(logger, caller.Principal.QualifiedId, tools!.Count, resource, caller.Tenant.Name, written.Version,
                    change.ToolsAdded.Count, change.ToolsRemoved.Count, change.ToolsChanged.Count, change.Withdrawn.Count);
                context.Response.Headers.ETag = CatalogGate.ETag(written.Version);
                context.Response.Headers.CacheControl = "no-store";
                return Results.Json(
                    Views.Of(publication, change),
                    CatalogJsonContext.Default.PublicationView,
                    statusCode: before is null ? StatusCodes.Status201Created : StatusCodes.Status200OK);
            }

            if (precondition.Kind != PreconditionKind.None)
            {
                return await RefuseAsync(context, caller, resource, concerned, ErrorCatalog.CatalogPreconditionFailed);
            }
        }

        return await RefuseAsync(context, caller, resource, [], ErrorCatalog.CatalogConflict);
    }

    private async Task<IResult> RefuseAsync(HttpContext context, CatalogCaller caller, string resource, IReadOnlyList<string> capabilities, ErrorDescriptor reason, CatalogEntry? entry = null)
    {
        await gate.RefuseAsync(context, Action, caller, null, resource, capabilities, reason);
        if (entry is not null)
        {
            context.Response.Headers.ETag = CatalogGate.ETag(entry.Version);
        }

        return ErrorWriter.Result(reason);
    }
}

/// <summary>The JSON views of stored catalog records.</summary>
internal static class Views
{
    public static PublicationView Of(Publication publication, AuditCatalogChange? change, Func<PublishedTool, bool>? visible = null) => new(
        publication.Tenant,
        publication.Resource,
        publication.Version,
        publication.PublishedBy,
        publication.PublishedAt,
        publication.PolicyVersion,
        [.. publication.Tools.Where(visible ?? (_ => true)).Select(t => new PublishedToolView(t.Name, t.Capability, t.Title, t.Description, t.InputSchemaSha256))],
        change is null ? null : new ChangesView(change.ToolsAdded, change.ToolsRemoved, change.ToolsChanged, change.Withdrawn));
}
