using Microsoft.AspNetCore.Authorization;

namespace Broker.Authentication;

/// <summary>
/// The authorization policies routes name (<c>RequireAuthorization(WorkloadPolicies.…)</c>). Each authenticates
/// with the <see cref="WorkloadAuthenticationDefaults.Scheme"/> scheme only and requires an authenticated
/// workload; <see cref="WorkloadAuthorizationHandler"/> decides the rest against the policy in force.
/// </summary>
internal static class WorkloadPolicies
{
    /// <summary>Any workload that policy places in a tenant (introspection; later the revocation feed and the catalog).</summary>
    public const string TenantMember = "Workload.TenantMember";

    /// <summary>A global admin, or a tenant admin of its own tenant: enough to reach an admin route whose tenant is only known inside.</summary>
    public const string Admin = "Workload.Admin";

    /// <summary>
    /// An admin of the tenant the request is about: <c>?tenant=</c> of the route, or a <see cref="TenantResource"/>
    /// an endpoint authorizes against. No tenant named: global admins only.
    /// </summary>
    public const string TenantAdmin = "Workload.TenantAdmin";

    /// <summary>A global admin (<c>Broker:Admin:GlobalAdmins</c>).</summary>
    public const string GlobalAdmin = "Workload.GlobalAdmin";

    public static void Add(AuthorizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AddPolicy(TenantMember, Build(new TenantMemberRequirement()));
        options.AddPolicy(Admin, Build(new AnyAdminRequirement()));
        options.AddPolicy(TenantAdmin, Build(new TenantAdminRequirement("tenant")));
        options.AddPolicy(GlobalAdmin, Build(new GlobalAdminRequirement()));
    }

    private static AuthorizationPolicy Build(IAuthorizationRequirement requirement) =>
        new AuthorizationPolicyBuilder(WorkloadAuthenticationDefaults.Scheme)
            .RequireAuthenticatedUser()
            .AddRequirements(requirement)
            .Build();
}

/// <summary>See <see cref="WorkloadPolicies.TenantMember"/>.</summary>
internal sealed class TenantMemberRequirement : IAuthorizationRequirement;

/// <summary>See <see cref="WorkloadPolicies.Admin"/>.</summary>
internal sealed class AnyAdminRequirement : IAuthorizationRequirement;

/// <summary>See <see cref="WorkloadPolicies.GlobalAdmin"/>.</summary>
internal sealed class GlobalAdminRequirement : IAuthorizationRequirement;

/// <summary>See <see cref="WorkloadPolicies.TenantAdmin"/>.</summary>
/// <param name="QueryParameter">The query parameter that names the tenant when the route itself is authorized.</param>
internal sealed record TenantAdminRequirement(string QueryParameter) : IAuthorizationRequirement;

/// <summary>The tenant an endpoint authorizes an admin for, once it knows it.</summary>
/// <param name="Name">The tenant.</param>
/// <param name="FromRequest">
/// True when the caller wrote the name (a body): it must be a tenant of the policy in force, for global admins
/// too. False when it comes from the grant store (a recorded grant's tenant), which a global admin may act on
/// after its tenant left policy.
/// </param>
internal sealed record TenantResource(string Name, bool FromRequest);

/// <summary>
/// A refused requirement; <see cref="KnownTenant"/> is the tenant whose stream the refusal is audited in: the tenant
/// asked about, or else the caller's own, and only ever one that policy knows.
/// </summary>
internal sealed class TenantAuthorizationFailure(IAuthorizationHandler handler, string message, string? knownTenant)
    : AuthorizationFailureReason(handler, message)
{
    public string? KnownTenant { get; } = knownTenant;
}
