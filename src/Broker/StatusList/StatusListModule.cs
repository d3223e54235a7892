using Broker.Errors;
using Broker.Grants;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.StatusList;

/// <summary>The Token Status List (draft-ietf-oauth-status-list): its options, the URIs in tokens and the list endpoint.</summary>
internal static class StatusListModule
{
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StatusListOptions>().Bind(configuration.GetSection(StatusListOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StatusListOptions>, StatusListOptionsValidator>());
        services.TryAddSingleton<StatusListUris>();
        services.TryAddSingleton<StatusListTokens>();
        services.TryAddSingleton<StatusListEndpoint>();
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        if (!endpoints.ServiceProvider.GetRequiredService<IOptions<StatusListOptions>>().Value.Enabled)
        {
            return;
        }

        var pattern = StatusListUris.Path + "/{tenant}";

        // Every other method gets the catalog's 405 rather than routing's empty one (as the OAuth endpoints do): no
        // method constraint and a higher order, so routing picks it only when GET does not match.
        endpoints.Map(pattern, context => ErrorWriter.WriteAsync(
                context, ErrorCatalog.StatusListMethodNotAllowed, new ErrorResponseOptions(Allow: "GET"), context.RequestAborted))
            .WithOrder(1)
            .WithDisplayName($"{pattern} (405)")
            .AllowAnonymous()
            .DisableAntiforgery();

        // GET /statuslists/v1/{tenant} — draft-ietf-oauth-status-list §8.1; public (see StatusListEndpoint).
        endpoints.MapGet(pattern, (HttpContext context, string tenant, StatusListEndpoint endpoint, CancellationToken ct) => endpoint.HandleAsync(context, tenant, ct))
            .AllowAnonymous();
    }
}
