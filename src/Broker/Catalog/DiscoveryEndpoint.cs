using Broker.Errors;
using Broker.Grants;
using Broker.Policy;
using Broker.Tokens;
using Microsoft.Extensions.Options;

namespace Broker.Catalog;

/// <summary>
/// <c>GET /catalog/v1/capabilities[?resource=][&amp;purpose=]</c>: exactly the capabilities of its tenant the caller may
/// discover, with their tools, and for each whether it could obtain a token for it now (policy lets it execute, and
/// publication is in place where the tenant requires it), so an agent asks for the right scopes before it calls.
/// Listing follows <see cref="CatalogAccess.Visibility"/>, the rule <c>tools/list</c> of Broker.Validation.Mcp uses.
/// </summary>
/// <remarks>
/// With <c>grant_id</c> (and <c>resource</c>), an MCP server asks on behalf of a caller that presented a token of that
/// grant: the answer is the grant subject's view of that resource. Only a workload with <c>publish</c> on a capability
/// of the resource (the server itself) may ask, and only about an active grant of its tenant whose audience is the
/// resource. The subject is matched as a re-exchange matches it: by its identity, without claims.
/// </remarks>
internal sealed class DiscoveryEndpoint(IPolicyProvider policyProvider, ICatalogStore store, IGrantStore grants, IOptions<BrokerOptions> broker, TimeProvider timeProvider)
{
    public const string Action = "catalog.discover";

    public async Task<IResult> HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var caller = CatalogCaller.From(context, policyProvider);
        if (caller is null)
        {
            return ErrorWriter.Result(ErrorCatalog.CatalogForbidden);
        }

        // :: Step 1. The query: each parameter at most once, in its grammar.
        var query = context.Request.Query;
        string? resource = null;
        if (query["resource"].Count > 0 && !CatalogGate.TryReadResource(context.Request, out resource))
        {
            return ErrorWriter.Result(ErrorCatalog.CatalogInvalidQuery);
        }

        var purposes = query["purpose"];
        var grantIds = query["grant_id"];
        if (purposes.Count > 1 || (purposes.Count == 1 && !Grammar.IsTaskContextValue(purposes[0]))
            || grantIds.Count > 1 || (grantIds.Count == 1 && (resource is null || !GrantId.IsWellFormed(grantIds[0]))))
        {
            return ErrorWriter.Result(ErrorCatalog.CatalogInvalidQuery);
        }

        var purpose = purposes.Count == 1 ? purposes[0] : null;

        // :: Step 2. Whose view: the caller's own, or (grant_id) the subject of a grant on the caller's resource.
        var subject = caller.Identity;
        if (grantIds.Count == 1)
        {
            if (!caller.CapabilitiesOn(resource!).Any(c => caller.AccessTo(c).Has(CapabilityPermissions.Publish)))
            {
                return ErrorWriter.Result(ErrorCatalog.CatalogLookupForbidden);
            }

            var grant = await grants.FindAsync(grantIds[0]!, cancellationToken);
            if (grant is null || grant.Status != GrantStatus.Active || grant.ExpiresAt <= timeProvider.GetUtcNow()
                || grant.Tenant != caller.Tenant.Name || grant.Audience != resource)
            {
                return ErrorWriter.Result(ErrorCatalog.CatalogGrantNotFound);
            }

            subject = new WorkloadIdentity
            {
                Id = grant.Subject,
                Kind = IdentityKind.Broker,
                Source = broker.Value.Issuer ?? "",
                Claims = new Dictionary<string, IReadOnlyList<string>>(),
                ExpiresAt = grant.ExpiresAt,
                KeyId = "",
                Grant = new BrokerGrantContext(grant.Id, grant.Tenant, grant.Capabilities, grant.Audience, grant.ActorChain, grant.TaskId, grant.Purpose)
                {
                    ConsumerTenant = grant.ConsumerTenant,
                },
            };
        }

        // :: Step 3. Each capability: what the subject may do, whether it is published, and so how it is listed. The
        // tenant's own capabilities, then those other tenants share with the subject's tenant (docs/sharing.md), which
        // both sides must let it discover. The grant of a shared capability is looked up in the owner's tenant: its
        // subject then sees what its own tenant is shared of this owner. The caller's chain is judged as the token
        // endpoint judges it (caller: conditions on rules and capabilities).
        var tenant = caller.Tenant;
        var home = subject.Grant?.ConsumerTenant is { } consumer && caller.Policy.Tenants.TryGetValue(consumer, out var consuming) ? consuming : tenant;
        var kinds = PolicyEvaluator.CallerOf(caller.Policy, home, subject);
        var candidates = (ReferenceEquals(home, tenant) ? tenant.Capabilities.Values : [])
            .Where(c => resource is null || string.Equals(c.Resource, resource, StringComparison.Ordinal))
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .Select(c => (Owner: tenant, Capability: c, Access: CatalogAccess.Evaluate(tenant, c, subject, purpose, kinds)))
            .Where(c => c.Access.Has(CapabilityPermissions.Discover))
            .ToList();
        foreach (var share in caller.Policy.Sharing.ForConsumer(home.Name).OrderBy(s => s.Owner, StringComparer.Ordinal).ThenBy(s => s.Capability, StringComparer.Ordinal))
        {
            if ((ReferenceEquals(home, tenant) || share.Owner == tenant.Name)
                && caller.Policy.Tenants.TryGetValue(share.Owner, out var owner) && owner.Capabilities.TryGetValue(share.Capability, out var capability)
                && (resource is null || string.Equals(capability.Resource, resource, StringComparison.Ordinal))
                && CatalogAccess.EvaluateShared(home, share, subject, purpose, kinds, capability) is var access && access.Has(CapabilityPermissions.Discover))
            {
                candidates.Add((owner, capability, access));
            }
        }

        var publications = new Dictionary<string, Dictionary<string, Publication>>(StringComparer.Ordinal);
        foreach (var owner in candidates.Select(c => c.Owner.Name).Distinct(StringComparer.Ordinal))
        {
            publications[owner] = await ReadPublicationsAsync(owner, resource, needed: true, cancellationToken);
        }

        List<DiscoveredCapabilityView> listed = [];
        foreach (var (owner, capability, access) in candidates)
        {
            var shared = !ReferenceEquals(owner, home);
            var publication = capability.Resource is { } on ? publications[owner.Name].GetValueOrDefault(on) : null;
            var tools = publication?.Tools.Where(t => t.Capability == capability.Name).ToList() ?? [];
            var published = tools.Count > 0;

            // A shared capability is executed under the owner's publishing rule, and hidden when either side hides.
            var executable = CatalogAccess.MayExecuteNow(owner.Catalog, access, published);
            var mode = shared && owner.Catalog.Discovery == DiscoveryMode.Hide ? DiscoveryMode.Hide : home.Catalog.Discovery;
            if (CatalogAccess.Visibility(mayDiscover: true, executable, mode) == CatalogVisibility.Hidden)
            {
                continue;
            }

            listed.Add(new DiscoveredCapabilityView(
                capability.Name,
                capability.Resource,
                capability.Audience,
                executable,
                executable ? null : NotExecutableReason(access),
                executable ? access.Purposes : null,
                executable ? ConditionsText(access.Conditions) : null,
                capability.RequireProofOfPossession || owner.RequireProofOfPossession || home.RequireProofOfPossession,
                published,
                published ? publication!.Version : null,
                published
                    ? [.. tools.Select(t => new DiscoveredToolView(t.Name, t.Title, t.Description, t.InputSchemaSha256))]
                    : [.. capability.Tools.Select(t => new DiscoveredToolView(t, null, null, null))],
                shared ? owner.Name : null));
        }

        context.Response.Headers.CacheControl = "no-store";
        return Results.Json(
            new DiscoveryView(
                tenant.Name,
                caller.Policy.Version,
                CatalogSettings.ToText(tenant.Catalog.Publishing),
                CatalogSettings.ToText(tenant.Catalog.Discovery),
                grantIds.Count == 1 ? subject.Id : null,
                listed),
            CatalogJsonContext.Default.DiscoveryView);
    }

    /// <summary>
    /// Why a listed capability is not executable: <c>not_published</c>, the caller condition the caller's chain breaks
    /// (the reason code the token endpoint would give, without its area prefix such as <c>policy.</c>), or <c>not_permitted</c>.
    /// </summary>
    internal static string NotExecutableReason(CapabilityAccess access) =>
        access.Has(CapabilityPermissions.Execute) ? "not_published"
        : access.Denial is { } denial ? ReasonName(PolicyDenials.ToError(denial).Reason)
        : "not_permitted";

    private static string ReasonName(string code) => code[(code.IndexOf('.', StringComparison.Ordinal) + 1)..];

    /// <summary>The conditions of an executable capability, as the view names them; null when none.</summary>
    internal static IReadOnlyList<string>? ConditionsText(ExecutionConditions conditions)
    {
        if (conditions == ExecutionConditions.None)
        {
            return null;
        }

        List<string> names = [];
        if (conditions.HasFlag(ExecutionConditions.Purpose))
        {
            names.Add("purpose");
        }

        if (conditions.HasFlag(ExecutionConditions.TaskLimits))
        {
            names.Add("task_limits");
        }

        if (conditions.HasFlag(ExecutionConditions.DecisionPoint))
        {
            names.Add("decision_point");
        }

        return names;
    }

    private async Task<Dictionary<string, Publication>> ReadPublicationsAsync(string tenant, string? resource, bool needed, CancellationToken cancellationToken)
    {
        if (!needed)
        {
            return [];
        }

        if (resource is not null)
        {
            return (await store.GetAsync(tenant, resource, cancellationToken))?.Current is { } one ? new() { [resource] = one } : [];
        }

        return (await store.ListAsync(tenant, cancellationToken)).ToDictionary(p => p.Resource, StringComparer.Ordinal);
    }
}
