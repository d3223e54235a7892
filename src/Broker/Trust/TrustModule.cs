using Broker.Subjects;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.SpiffeAgent;

/// <summary>The Workload API connection, its bundles and the broker's TLS identity.</summary>
internal static class SpiffeAgentModule
{
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SpiffeAgentOptions>().Bind(configuration.GetSection("Broker:Spiffe")).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SpiffeAgentOptions>, SpiffeAgentOptionsValidator>());
        services.TryAddSingleton<WorkloadApiConnection>();
        services.TryAddSingleton<IWorkloadApiBundleSource>(sp => sp.GetRequiredService<WorkloadApiConnection>());
        services.TryAddEnumerable(ServiceDescriptor.Transient<IConfigureOptions<KestrelServerOptions>, KestrelTlsSetup>());

        // Started before the policy provider and the bundle registry, which read its bundles.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService>(sp => sp.GetRequiredService<WorkloadApiConnection>()));
    }
}
