using Broker.Errors;

namespace Broker.Authentication;

/// <summary>
/// Per-route endpoint metadata for routes behind the <see cref="WorkloadAuthenticationDefaults.Scheme"/> scheme:
/// the audit event type of the action, and the catalog entries that answer a missing or refused credential
/// (401) and a refused authorization (403).
/// </summary>
internal sealed record WorkloadEndpointMetadata(string Action, ErrorDescriptor Unauthenticated, ErrorDescriptor Forbidden)
{
    /// <summary>An admin API route.</summary>
    public static WorkloadEndpointMetadata ForAdmin(string action) => new(action, ErrorCatalog.AdminUnauthenticated, ErrorCatalog.AdminForbidden);
}
