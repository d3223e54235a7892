// Broker.Client — the agent side of the Broker.

using Broker.Client;
using Broker.Client.Internal;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the broker client, its token cache, and capability tokens on HTTP clients.</summary>
public static class BrokerClientServiceCollectionExtensions
{
    /// <summary>The name of the <see cref="HttpClient"/> that talks to the broker.</summary>
    public const string HttpClientName = "Broker.Client";

    /// <summary>
    /// Adds <see cref="BrokerClient"/> (typed HTTP client), a singleton <see cref="CapabilityTokenCache"/> and the agent's
    /// one <see cref="DPoPKey"/> (a singleton made in memory at first use), with <see cref="BrokerClientOptions"/>
    /// validated on start. Safe to call more than once; each
    /// <paramref name="configure"/> is applied in order.
    /// </summary>
    /// <returns>The builder of the HTTP client that talks to the broker, for timeouts or a client certificate.</returns>
    public static IHttpClientBuilder AddBrokerClient(this IServiceCollection services, Action<BrokerClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<BrokerClientOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BrokerClientOptions>, BrokerClientOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // One key per agent (RFC 9449): every BrokerClient the factory makes binds its tokens to the same key.
        services.TryAddSingleton(sp => new DPoPKey(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new CapabilityTokenCache(
            sp.GetRequiredService<BrokerClient>,
            sp.GetRequiredService<IOptions<BrokerClientOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<CapabilityTokenCache>>()));

        var builder = services.AddHttpClient(HttpClientName);

        // A 307/308 would re-post the subject token, a bearer credential, to wherever the answer points. The
        // broker never redirects its token endpoint, so a redirect is refused (reported as invalid_response).
        builder.ConfigurePrimaryHttpMessageHandler((handler, _) =>
        {
            switch (handler)
            {
                case SocketsHttpHandler sockets:
                    sockets.AllowAutoRedirect = false;
                    break;
                case HttpClientHandler client:
                    client.AllowAutoRedirect = false;
                    break;
            }
        });
        if (!services.Any(d => d.ServiceType == typeof(BrokerClient)))
        {
            builder.AddTypedClient((http, sp) =>
            {
                var options = sp.GetRequiredService<IOptions<BrokerClientOptions>>().Value;
                return new BrokerClient(
                    http,
                    options,
                    sp.GetRequiredService<TimeProvider>(),
                    sp.GetService<ILogger<BrokerClient>>(),
                    options.UseDPoP ? sp.GetRequiredService<DPoPKey>() : null);
            });
        }

        return builder;
    }

    /// <summary>
    /// Attaches a capability token for <paramref name="request"/> to every request of this HTTP client (see
    /// <see cref="CapabilityTokenHandler"/>). Requires <see cref="AddBrokerClient"/>.
    /// </summary>
    /// <param name="builder">The HTTP client.</param>
    /// <param name="request">What the tokens are for.</param>
    /// <param name="origins">Where the token may be sent; by default only the origin of the request's resource.</param>
    /// <exception cref="ArgumentException">The request names neither a resource nor an audience, or there is no origin to send the token to.</exception>
    public static IHttpClientBuilder AddCapabilityToken(this IHttpClientBuilder builder, CapabilityRequest request, params IEnumerable<Uri>? origins)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(request);

        // Fail at registration, not at the first call; task ID and purpose may still come from the options.
        if (request.Resource is null && request.Audience is null)
        {
            throw new ArgumentException("A capability request names a resource, an audience or both.", nameof(request));
        }

        var allowed = origins?.ToArray() is { Length: > 0 } given ? given : null;
        _ = CapabilityTokenHandler.AllowedOrigins(request, allowed);

        builder.AddHttpMessageHandler(sp => new CapabilityTokenHandler(
            sp.GetService<CapabilityTokenCache>() ?? throw new InvalidOperationException("broker-client: call services.AddBrokerClient(...) before AddCapabilityToken."),
            request,
            sp.GetService<ILogger<CapabilityTokenHandler>>(),
            allowed));
        return builder;
    }
}
