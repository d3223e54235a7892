using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.Audit;

/// <summary>The audit trail (store and log) and the optional JSON-lines sink.</summary>
internal static class AuditModule
{
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuditOptions>().Bind(configuration.GetSection("Broker:Audit")).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>());
        services.TryAddSingleton<AuditFileSink>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditFileSink>());
        services.TryAddSingleton<AuditTrail>();
    }
}
