using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.Audit;

/// <summary>The optional JSON-lines sink of audit events (the trail itself is kept by the grant store: <c>Grants/AuditTrail</c>).</summary>
internal static class AuditModule
{
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuditOptions>().Bind(configuration.GetSection("Broker:Audit")).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>());
        services.TryAddSingleton<AuditFileSink>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditFileSink>());
    }
}
