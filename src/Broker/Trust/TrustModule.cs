using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.Trust;

/// <summary>
/// The broker's trust sources: the bundle registry (bundle files, bundle endpoints, the Workload API's bundles), the
/// Workload API connection, and the broker's TLS identity from it.
/// </summary>
internal static class TrustModule
{
    /// <summary>Registers the trust sources; after the policy provider, whose policy the registry follows from its start.</summary>
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SpiffeAgentOptions>().Bind(configuration.GetSection("Broker:Spiffe")).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SpiffeAgentOptions>, SpiffeAgentOptionsValidator>());
        services.TryAddSingleton<WorkloadApiConnection>();
        services.TryAddSingleton<IWorkloadApiBundleSource>(sp => sp.GetRequiredService<WorkloadApiConnection>());
        services.TryAddEnumerable(ServiceDescriptor.Transient<IConfigureOptions<KestrelServerOptions>, KestrelTlsSetup>());

        // Started before the policy provider and the bundle registry, which read its bundles.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService>(sp => sp.GetRequiredService<WorkloadApiConnection>()));

        services.AddOptions<BundleFetchOptions>();
        services.TryAddSingleton<TrustBundleRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<TrustBundleRegistry>());
    }
}
