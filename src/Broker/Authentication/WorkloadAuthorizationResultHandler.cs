using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Broker.Authentication;

/// <summary>
/// Audits a refused authorization of an authenticated workload before the framework forbids it (the scheme's
/// <c>HandleForbiddenAsync</c> writes the 403), in the stream of a tenant policy knows
/// (<see cref="TenantAuthorizationFailure.KnownTenant"/>), else in the stream without tenant.
/// </summary>
internal sealed class WorkloadAuthorizationResultHandler(AuthenticationAudit audit) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(authorizeResult);
        if (authorizeResult.Forbidden && context.GetEndpoint()?.Metadata.GetMetadata<WorkloadEndpointMetadata>() is { } metadata)
        {
            var tenant = authorizeResult.AuthorizationFailure?.FailureReasons.OfType<TenantAuthorizationFailure>().Select(f => f.KnownTenant).FirstOrDefault(t => t is not null);
            await audit.ForbiddenAsync(context, metadata.Action, WorkloadPrincipal.From(context.User), tenant, metadata.Forbidden);
        }

        await _default.HandleAsync(next, context, policy, authorizeResult);
    }
}
