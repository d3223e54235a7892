// Broker.Validation — resource servers honour broker tokens.

using Broker.Jose.DPoP;
using Broker.Validation;
using Broker.Validation.Internal;
using Broker.Validation.Revocation;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers validation of the broker's capability tokens as an ASP.NET Core authentication scheme.</summary>
public static class BrokerTokenAuthenticationExtensions
{
    /// <summary>
    /// Adds the <see cref="BrokerTokenDefaults.AuthenticationScheme"/> scheme: JwtBearer configured for broker
    /// tokens (RFC 9068 <c>at+jwt</c>, ES256, issuer, audience = <see cref="BrokerTokenOptions.Resource"/>, tenant,
    /// bounded clock skew, RFC 8705 certificate binding, RFC 9449 DPoP binding with its proof, revocation check), with keys from the broker's RFC 8414
    /// metadata. Options are validated when the host starts.
    /// </summary>
    public static AuthenticationBuilder AddBrokerTokens(this AuthenticationBuilder builder, Action<BrokerTokenOptions> configure) =>
        builder.AddBrokerTokens(BrokerTokenDefaults.AuthenticationScheme, configure);

    /// <summary>Adds a broker-token scheme under <paramref name="authenticationScheme"/> (one per resource this server is).</summary>
    public static AuthenticationBuilder AddBrokerTokens(this AuthenticationBuilder builder, string authenticationScheme, Action<BrokerTokenOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(authenticationScheme);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;

        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpContextAccessor();
        services.AddOptions<BrokerTokenOptions>(authenticationScheme).Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BrokerTokenOptions>, BrokerTokenOptionsValidator>());
        services.Configure<BrokerSchemes>(s => s.Names.Add(authenticationScheme));

        // The revocation seam: the feed client fills the set; another IRevocationCheck registered first wins
        // (AddBrokerStatusList replaces this default, and only this default).
        services.TryAddSingleton(sp => new RevokedGrantSet(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(typeof(IRevocationCheck), DefaultRevocationCheck);

        // RFC 9449 §11.1: each DPoP proof is accepted once. In process memory by default, shared by every scheme; replicas
        // behind one load balancer register a shared IDPoPReplayCache first (TryAdd).
        services.TryAddSingleton<IDPoPReplayCache>(sp => new InMemoryDPoPReplayCache(sp.GetRequiredService<TimeProvider>()));

        // Only the configured broker is fetched: no redirects, bounded time and size.
        services.AddHttpClient(BrokerJwtBearerSetup.HttpClientName, client => client.MaxResponseContentBufferSize = 1024 * 1024)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<JwtBearerOptions>, BrokerJwtBearerSetup>());

        // The caller, for tools and handlers that take it from DI; it carries no token.
        services.TryAddScoped(sp => sp.GetRequiredService<IHttpContextAccessor>().HttpContext?.GetBrokerCaller()
            ?? throw new InvalidOperationException("This request was not authenticated with a broker token: require the broker token scheme on the endpoint."));

        return builder.AddJwtBearer(authenticationScheme, _ => { });
    }

    /// <summary>The default <see cref="IRevocationCheck"/>: the feed's set. Recognised by <c>AddBrokerStatusList</c>.</summary>
    internal static readonly Func<IServiceProvider, object> DefaultRevocationCheck = sp => sp.GetRequiredService<RevokedGrantSet>();
}
