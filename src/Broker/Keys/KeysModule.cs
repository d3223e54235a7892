using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.Keys;

/// <summary>The key ring and the JWKS endpoint.</summary>
internal static class KeysModule
{
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KeysOptions>().Bind(configuration.GetSection("Broker:Keys")).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KeysOptions>, KeysOptionsValidator>());
        services.TryAddSingleton<ISigningKeyProvider>(sp => CreateKeyRing(sp.GetRequiredService<IOptions<KeysOptions>>().Value, sp.GetRequiredService<ILogger<KeyRing>>()));
        services.TryAddSingleton<JwksEndpoint>();
        services.TryAddSingleton<KeysTelemetry>();
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.ServiceProvider.GetRequiredService<KeysTelemetry>().Observe(endpoints.ServiceProvider.GetRequiredService<ISigningKeyProvider>());

        // GET /.well-known/jwks.json — RFC 7517; public, cacheable.
        endpoints.MapGet("/.well-known/jwks.json", (HttpContext context, JwksEndpoint endpoint, CancellationToken ct) => endpoint.HandleAsync(context, ct))
            .AllowAnonymous();
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
