using Broker.Errors;
using Broker.Policy;

namespace Broker.Catalog;

/// <summary>
/// The exchange's publishing check: in a tenant with <c>publishing: required</c>, every capability of a token must
/// have tools published under it on its resource (<see cref="CatalogAccess.PublishingSatisfied"/>). Costs nothing in
/// other tenants; one catalog read per resource in those.
/// </summary>
internal sealed class PublishingGate(ICatalogStore store)
{
    /// <summary>Null when publication does not stand in the way; otherwise the refusal.</summary>
    /// <exception cref="Grants.GrantStoreUnavailableException">The catalog could not be read: the exchange fails closed.</exception>
    public async ValueTask<ErrorDescriptor?> CheckAsync(TenantPolicy tenant, IReadOnlyList<string> capabilities, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(capabilities);
        if (tenant.Catalog.Publishing == PublishingMode.Optional)
        {
            return null;
        }

        Dictionary<string, IReadOnlyList<string>> publishedOn = new(StringComparer.Ordinal);
        foreach (var name in capabilities)
        {
            // Policy decided first, so each capability exists; one without a resource cannot be published (and policy
            // refuses such a capability in a tenant that requires publication).
            if (!tenant.Capabilities.TryGetValue(name, out var capability) || capability.Resource is not { } resource)
            {
                return ErrorCatalog.CapabilityNotPublished;
            }

            if (!publishedOn.TryGetValue(resource, out var published))
            {
                var entry = await store.GetAsync(tenant.Name, resource, cancellationToken);
                publishedOn[resource] = published = entry?.Current?.Capabilities() ?? [];
            }

            if (!CatalogAccess.PublishingSatisfied(tenant.Catalog, published.Contains(name, StringComparer.Ordinal)))
            {
                return ErrorCatalog.CapabilityNotPublished;
            }
        }

        return null;
    }
}
