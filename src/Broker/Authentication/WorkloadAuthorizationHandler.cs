using Broker.Policy;
using Microsoft.AspNetCore.Authorization;

namespace Broker.Authentication;

/// <summary>
/// Decides the <see cref="WorkloadPolicies"/> requirements for a <see cref="WorkloadPrincipal"/> against the
/// policy in force at this moment (admins and tenants change with policy reloads; the principal's claims are
/// only who it is and where it was placed).
/// </summary>
internal sealed class WorkloadAuthorizationHandler(IPolicyProvider policyProvider) : IAuthorizationHandler
{
    public Task HandleAsync(AuthorizationHandlerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var caller = WorkloadPrincipal.From(context.User);
        var policy = policyProvider.Current;
        foreach (var requirement in context.PendingRequirements.ToList())
        {
            var (handled, allowed, target) = requirement switch
            {
                TenantMemberRequirement => (true, caller?.Tenant is { } tenant && policy?.Tenants.ContainsKey(tenant) == true, null),
                GlobalAdminRequirement => (true, caller?.IsGlobalAdmin == true, null),
                AnyAdminRequirement => (true, caller is not null && (caller.IsGlobalAdmin || IsAdminOfOwnTenant(caller, policy)), null),
                TenantAdminRequirement tenantAdmin => IsTenantAdmin(context.Resource, tenantAdmin, caller, policy),
                _ => (false, false, (string?)null),
            };

            if (!handled)
            {
                continue;
            }

            if (allowed)
            {
                context.Succeed(requirement);
            }
            else
            {
                // Filed under the tenant asked about when policy knows it, else under the caller's own: never
                // under a name the request made up.
                var own = caller?.Tenant is { } callerTenant && policy?.Tenants.ContainsKey(callerTenant) == true ? callerTenant : null;
                context.Fail(new TenantAuthorizationFailure(this, $"{requirement.GetType().Name} not met", target ?? own));
            }
        }

        return Task.CompletedTask;
    }

    private static bool IsAdminOfOwnTenant(WorkloadPrincipal caller, PolicySet? policy) =>
        caller.Tenant is { } tenant && policy?.Tenants.TryGetValue(tenant, out var own) == true && caller.IsAdminOf(own);

    private static (bool Handled, bool Allowed, string? KnownTenant) IsTenantAdmin(object? resource, TenantAdminRequirement requirement, WorkloadPrincipal? caller, PolicySet? policy)
    {
        string? tenant;
        bool fromRequest;
        switch (resource)
        {
            case TenantResource named:
                (tenant, fromRequest) = (named.Name, named.FromRequest);
                break;
            case HttpContext http:
                // One value exactly as the endpoint reads it; two would let the check and the action disagree.
                var values = http.Request.Query[requirement.QueryParameter];
                if (values.Count > 1)
                {
                    return (true, false, null);
                }

                (tenant, fromRequest) = (values.Count == 1 ? values[0] : null, true);
                break;
            default:
                return (true, false, null);
        }

        if (caller is null || policy is null)
        {
            return (true, false, null);
        }

        // No tenant named: the request spans tenants (or concerns none), which only global admins may do.
        if (string.IsNullOrEmpty(tenant))
        {
            return (true, caller.IsGlobalAdmin, null);
        }

        // A name the caller made up is nobody's tenant: refused for everyone, and nothing is written under it.
        var known = policy.Tenants.TryGetValue(tenant, out var target);
        if (!known && fromRequest)
        {
            return (true, false, null);
        }

        return (true, caller.IsGlobalAdmin || (known && caller.IsAdminOf(target!)), known ? tenant : null);
    }
}
