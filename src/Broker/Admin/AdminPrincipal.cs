namespace Broker.Admin;

/// <summary>An authenticated admin: who, which tenant their identity belongs to, and whether they are global.</summary>
public sealed record AdminPrincipal(string Id, string? Tenant, bool IsGlobal)
{
    public bool MayAdminister(string tenant, IReadOnlyList<Policy.SubjectPattern> tenantAdmins) =>
        IsGlobal || (Tenant == tenant && tenantAdmins.Any(p => p.Matches(Id)));
}
