using System.Diagnostics.Metrics;
using Broker.Grants.InMemory;
using Broker.Grants.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Grants;

/// <summary>Registers the grant store: Redis when <c>Broker:Redis:Configuration</c> is set, in-memory otherwise.</summary>
internal static class GrantsModule
{
    public static IServiceCollection Register(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<GrantsOptions>().Bind(configuration.GetSection(GrantsOptions.SectionName)).ValidateOnStart();
        services.AddOptions<RedisOptions>().Bind(configuration.GetSection(RedisOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrantsOptions>, GrantsOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // The audit trail is kept by the store (an issuance and its event in one step), beside the log line and the sink.
        services.TryAddSingleton<AuditTrail>();

        // IMeterFactory for the store's metrics (GrantStoreTelemetry); idempotent, and a no-op under a host.
        services.AddMetrics();

        // The choice is made at registration: a process is either backed by Redis or it is not, and silently
        // falling back to memory when Redis is configured but down would lose grants and revocations.
        if (string.IsNullOrWhiteSpace(configuration[$"{RedisOptions.SectionName}:{nameof(RedisOptions.Configuration)}"]))
        {
            services.TryAddSingleton<IGrantStore>(sp =>
            {
                Log.InMemoryGrantStoreSelected(sp.GetRequiredService<ILogger<InMemoryGrantStore>>());
                return new InMemoryGrantStore(
                    sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<IOptions<GrantsOptions>>(),
                    sp.GetRequiredService<IOptions<Grants.StatusListOptions>>(),
                    new GrantStoreTelemetry(sp.GetRequiredService<IMeterFactory>(), "memory"));
            });
            return services;
        }

        services.TryAddSingleton<IConnectionMultiplexer>(sp => RedisConnectionFactory.Connect(
            sp.GetRequiredService<IOptions<RedisOptions>>().Value, sp.GetRequiredService<ILogger<RedisGrantStore>>()));
        services.TryAddSingleton(sp => new GrantStoreTelemetry(sp.GetRequiredService<IMeterFactory>(), "redis"));
        services.TryAddSingleton<IGrantStore, RedisGrantStore>();

        // Redis must never evict (revocation marks would go and revoked tokens come back): checked at start, where an
        // evicting policy stops the broker, and by /readyz.
        services.TryAddSingleton<RedisEvictionPolicyCheck>();
        services.AddHostedService(sp => sp.GetRequiredService<RedisEvictionPolicyCheck>());
        return services;
    }
}
