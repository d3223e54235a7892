using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Broker.Authentication;

/// <summary>The workload authentication scheme and the authorization policies routes name.</summary>
internal static class AuthenticationModule
{
    public static void Register(IServiceCollection services)
    {
        services.TryAddSingleton<WorkloadAuthenticator>();
        services.TryAddSingleton<AuthenticationAudit>();

        // No default scheme: a route authenticates only when its policy names the scheme, so anonymous routes
        // (the token endpoint, JWKS, health) never validate an Authorization header they do not use.
        var authentication = services.AddAuthentication();
        if (!services.Any(d => d.ServiceType == typeof(WorkloadAuthenticationHandler)))
        {
            authentication.AddScheme<WorkloadAuthenticationOptions, WorkloadAuthenticationHandler>(WorkloadAuthenticationDefaults.Scheme, displayName: null, configureOptions: null);
        }

        services.AddAuthorization(WorkloadPolicies.Add);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, WorkloadAuthorizationHandler>());

        // Replace, not TryAdd: AddAuthorization registers the framework's handler, and ours wraps it.
        services.Replace(ServiceDescriptor.Singleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, WorkloadAuthorizationResultHandler>());
    }
}
