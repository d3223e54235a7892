using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.Policy;

/// <summary>
/// Policy as code in the broker: the directory in force (loaded at start, reloaded on change) and the evaluator the
/// token exchange asks. The policy language itself is the Broker.Policy library; this folder only hosts it.
/// </summary>
internal static class PolicyModule
{
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">Configuration; <c>Broker:Policy</c> binds <see cref="PolicyOptions"/>.</param>
    /// <param name="loadOptions">
    /// What a policy may declare in this process. The composition root decides it from broker-wide settings (dev
    /// mode, the Workload API), which this feature does not read.
    /// </param>
    public static void Register(IServiceCollection services, IConfiguration configuration, Func<IServiceProvider, PolicyLoadOptions> loadOptions)
    {
        services.AddOptions<PolicyOptions>().Bind(configuration.GetSection("Broker:Policy")).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PolicyOptions>, PolicyOptionsValidator>());
        services.TryAddSingleton(loadOptions);
        services.TryAddSingleton<PolicyTelemetry>();
        services.TryAddSingleton<FilePolicyProvider>();
        services.TryAddSingleton<IPolicyProvider>(sp => sp.GetRequiredService<FilePolicyProvider>());
        services.AddHostedService(sp => sp.GetRequiredService<FilePolicyProvider>());
        services.TryAddSingleton(sp => new PolicyEvaluator(sp.GetRequiredService<TimeProvider>())
        {
            DefaultLifetime = sp.GetRequiredService<IOptions<PolicyOptions>>().Value.DefaultTokenLifetime,
        });
    }
}
