using Broker.Authentication;
using Broker.Errors;
using Broker.Grants.Redis;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Keys;

/// <summary>The key ring (PEM files, or shared and rotating in Redis), the JWKS endpoint and the key admin API.</summary>
internal static class KeysModule
{
    /// <summary>The Data Protection application name: every replica must use the same one to read each other's keys.</summary>
    public const string DataProtectionApplicationName = "broker";

    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KeysOptions>().Bind(configuration.GetSection(KeysOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KeysOptions>, KeysOptionsValidator>());
        services.TryAddSingleton<JwksEndpoint>();
        services.TryAddSingleton<KeysTelemetry>();
        services.TryAddSingleton<KeysAdminAudit>();
        services.TryAddSingleton<ListKeysEndpoint>();
        services.TryAddSingleton<RotateKeyEndpoint>();
        services.TryAddSingleton<RetireKeyEndpoint>();

        // The choice is made at registration, as for the grant store: a value that does not parse is reported by the
        // options binding at start, and meanwhile nothing Redis-backed is registered.
        if (!IsRedisStore(configuration))
        {
            services.TryAddSingleton<ISigningKeyProvider>(sp => CreateKeyRing(sp.GetRequiredService<IOptions<KeysOptions>>().Value, sp.GetRequiredService<ILogger<KeyRing>>()));
            return;
        }

        services.TryAddSingleton(sp => new RedisKeyRingStore(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<IOptions<RedisOptions>>().Value));
        services.TryAddSingleton<KeyMaterialProtector>();
        services.TryAddSingleton<SharedKeyRing>();
        services.TryAddSingleton<ISigningKeyProvider>(sp => sp.GetRequiredService<SharedKeyRing>());
        services.TryAddSingleton<KeyEncryptionCheck>();
        services.AddHostedService<KeyRingSynchronizer>();
        AddDataProtection(services, configuration);
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.ServiceProvider.GetRequiredService<KeysTelemetry>().Observe(endpoints.ServiceProvider.GetRequiredService<ISigningKeyProvider>());

        // GET /.well-known/jwks.json — RFC 7517; public, cacheable.
        endpoints.MapGet("/.well-known/jwks.json", (HttpContext context, JwksEndpoint endpoint, CancellationToken ct) => endpoint.HandleAsync(context, ct))
            .AllowAnonymous();

        // The signing keys belong to the whole broker, not to a tenant: global admins only.
        var keys = endpoints.MapGroup("/admin/v1/keys").DisableAntiforgery();

        // GET /admin/v1/keys — the ring.
        keys.MapGet("", (HttpContext c, ListKeysEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .RequireAuthorization(WorkloadPolicies.GlobalAdmin)
            .WithMetadata(new WorkloadEndpointMetadata(ListKeysEndpoint.Action, ErrorCatalog.AdminUnauthenticated, ErrorCatalog.KeysForbidden));

        // POST /admin/v1/keys/rotate — the next key signs as soon as it is safely published.
        keys.MapPost("/rotate", (HttpContext c, RotateKeyEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .RequireAuthorization(WorkloadPolicies.GlobalAdmin)
            .WithMetadata(new WorkloadEndpointMetadata(RotateKeyEndpoint.Action, ErrorCatalog.AdminUnauthenticated, ErrorCatalog.KeysForbidden));

        // POST /admin/v1/keys/{kid}/retire — retire a key that no longer signs (or never did).
        keys.MapPost("/{kid}/retire", (HttpContext c, string kid, RetireKeyEndpoint e, CancellationToken ct) => e.HandleAsync(c, kid, ct))
            .RequireAuthorization(WorkloadPolicies.GlobalAdmin)
            .WithMetadata(new WorkloadEndpointMetadata(RetireKeyEndpoint.Action, ErrorCatalog.AdminUnauthenticated, ErrorCatalog.KeysForbidden));
    }

    /// <summary>True when <c>Broker:Keys:Store</c> names Redis.</summary>
    public static bool IsRedisStore(IConfiguration configuration) =>
        Enum.TryParse<KeyStore>(configuration[$"{KeysOptions.SectionName}:{nameof(KeysOptions.Store)}"], ignoreCase: true, out var store) && store == KeyStore.Redis;

    /// <summary>
    /// Data Protection with its key ring in Redis (beside the signing keys), encrypted to the operator's certificate.
    /// The certificates are loaded here because Data Protection takes them as instances; a file that does not load
    /// registers nothing, and <see cref="KeysOptionsValidator"/> stops the start naming it.
    /// </summary>
    private static void AddDataProtection(IServiceCollection services, IConfiguration configuration)
    {
        var encryption = new KeyEncryptionOptions();
        configuration.GetSection($"{KeysOptions.SectionName}:{nameof(KeysOptions.Encryption)}").Bind(encryption);
        var (current, previous, _) = KeyEncryptionCertificates.Load(encryption);
        services.TryAddSingleton(new KeyEncryptionCertificateSet(current, previous));

        var builder = services.AddDataProtection().SetApplicationName(DataProtectionApplicationName);
        services.AddOptions<KeyManagementOptions>().Configure<RedisKeyRingStore, IConnectionMultiplexer>((options, store, redis) =>
            options.XmlRepository = new RedisXmlRepository(() => redis.GetDatabase(), store.DataProtectionKey));
        if (current is not null)
        {
            builder.ProtectKeysWithCertificate(current);
            if (previous.Count > 0)
            {
                builder.UnprotectKeysWithAnyCertificate([.. previous]);
            }
        }
    }

    private static KeyRing CreateKeyRing(KeysOptions options, ILogger logger)
    {
        if (options.SigningKeyFiles.Count == 0)
        {
            var key = SigningKey.Generate();
            Log.EphemeralKeyGenerated(logger, key.KeyId);
            return new KeyRing([key]);
        }

        var keys = options.SigningKeyFiles.Select(SigningKey.FromPemFile).ToList();
        Log.KeysLoaded(logger, keys.Count, keys[0].KeyId);
        return new KeyRing(keys);
    }
}
