using Broker.Authentication;
using Broker.Grants.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.Review;

/// <summary>
/// The inventory and access review (<c>GET /admin/v1/review</c>, docs/admin.md) and the grant counters it reads: a
/// bounded queue the exchange hands recorded grants to, and a background flusher into the store (Redis when the grant
/// store is Redis, memory otherwise).
/// </summary>
internal static class ReviewModule
{
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ReviewOptions>().Bind(configuration.GetSection(ReviewOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReviewOptions>, ReviewOptionsValidator>());

        // The same kind of store as the grant store, chosen the same way (GrantsModule).
        if (string.IsNullOrWhiteSpace(configuration[$"{RedisOptions.SectionName}:{nameof(RedisOptions.Configuration)}"]))
        {
            services.TryAddSingleton<IUsageStore, InMemoryUsageStore>();
        }
        else
        {
            services.TryAddSingleton<IUsageStore, RedisUsageStore>();
        }

        services.TryAddSingleton<UsageRecorder>();
        services.TryAddSingleton<UsageFlusher>();
        services.AddHostedService(sp => sp.GetRequiredService<UsageFlusher>());
        services.TryAddSingleton<ReviewEndpoint>();
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var admin = endpoints.MapGroup("/admin/v1").DisableAntiforgery();

        // GET /admin/v1/review?tenant=&days= — the tenant's inventory and access review.
        admin.MapGet("/review", (HttpContext c, ReviewEndpoint e, CancellationToken ct) => e.HandleAsync(c, ct))
            .RequireAuthorization(WorkloadPolicies.TenantAdmin)
            .WithMetadata(WorkloadEndpointMetadata.ForAdmin(ReviewEndpoint.Action));
    }
}
