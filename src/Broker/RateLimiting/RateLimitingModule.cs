using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.RateLimiting;

/// <summary>Rate limits of the token endpoint and of failed authentications, per replica.</summary>
internal static class RateLimitingModule
{
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RateLimitOptions>().Bind(configuration.GetSection("Broker:RateLimits")).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RateLimitOptions>, RateLimitOptionsValidator>());
        services.TryAddSingleton<RateLimitingTelemetry>();
        services.TryAddSingleton<FailedAuthenticationLimiter>();
    }
}
