using Broker.Grants.Redis;
using Broker.Jose.DPoP;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.DPoP;

/// <summary>
/// DPoP at the token endpoint (RFC 9449 §5): the proof checks, the replay cache (Redis when the grant store is Redis,
/// shared by every replica; process memory otherwise) and the server nonces.
/// </summary>
internal static class DPoPModule
{
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DPoPOptions>().Bind(configuration.GetSection(DPoPOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DPoPOptions>, DPoPOptionsValidator>());

        // The same choice as the grant store's (GrantsModule): with Redis, every replica must see every proof, or a
        // proof refused by one as a replay is accepted by the next.
        var redis = !string.IsNullOrWhiteSpace(configuration[$"{RedisOptions.SectionName}:{nameof(RedisOptions.Configuration)}"]);
        if (redis)
        {
            services.TryAddSingleton<IDPoPReplayCache, RedisDPoPReplayCache>();
        }
        else
        {
            services.TryAddSingleton<IDPoPReplayCache>(sp => new InMemoryDPoPReplayCache(
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<DPoPOptions>>().Value.ReplayCacheCapacity));
        }

        services.TryAddSingleton<IDPoPNonceKeySource>(sp =>
            sp.GetRequiredService<IOptions<DPoPOptions>>().Value.NonceKeyFile is { Length: > 0 } file
                ? new FileDPoPNonceKeySource(file)
                : redis ? ActivatorUtilities.CreateInstance<RedisDPoPNonceKeySource>(sp) : new ProcessDPoPNonceKeySource());
        services.TryAddSingleton<DPoPTelemetry>();
        services.TryAddSingleton<DPoPTokenProofs>();
    }
}
