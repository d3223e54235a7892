using Broker.Admin;
using Broker.Audit;
using Broker.Authentication;
using Broker.Exchange;
using Broker.Grants;
using Broker.Hosting;
using Broker.Keys;
using Broker.Policy;
using Broker.RateLimiting;
using Broker.Revocation;
using Broker.Subjects;
using Broker.Tokens;
using Broker.Trust;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the broker. Idempotent: every registration is a TryAdd.</summary>
internal static class BrokerServiceCollectionExtensions
{
    /// <summary>Adds every broker feature, configured from <c>Broker:*</c>.</summary>
    public static IBrokerBuilder AddBroker(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        BrokerLogging.Register(services);

        // Every feature records its metrics through IMeterFactory (a host adds it too; AddMetrics is idempotent).
        services.AddMetrics();

        // Dev mode is never read from configuration: only --dev turns it on (DevMode.Configure, after this reset).
        services.AddOptions<BrokerOptions>().Bind(configuration.GetSection("Broker")).Configure(o => o.DevMode = false).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BrokerOptions>, BrokerOptionsValidator>());

        KeysModule.Register(services, configuration);
        PolicyModule.Register(services, configuration, sp => PolicyLoadOptionsFor(
            sp.GetRequiredService<IOptions<BrokerOptions>>().Value,
            sp.GetRequiredService<IOptions<PolicyOptions>>().Value,
            sp.GetRequiredService<IOptions<SpiffeAgentOptions>>().Value,
            sp.GetRequiredService<IOptions<Broker.AuthZen.AuthZenOptions>>().Value));
        TrustModule.Register(services, configuration);
        AddSubjects(services, configuration);
        Broker.StatusList.StatusListModule.Register(services, configuration);
        GrantsModule.Register(services, configuration);
        AuditModule.Register(services, configuration);
        RateLimitingModule.Register(services, configuration);
        AuthenticationModule.Register(services);
        services.AddExceptionHandler<BrokerExceptionHandler>();
        ExchangeModule.Register(services, configuration);
        Broker.DPoP.DPoPModule.Register(services, configuration);
        Broker.AuthZen.AuthZenModule.Register(services, configuration);
        AdminModule.Register(services, configuration);
        RevocationModule.Register(services);
        Broker.Introspection.IntrospectionModule.Register(services);
        Broker.RevocationFeed.RevocationFeedModule.Register(services, configuration);
        HealthModule.Register(services);
        Broker.Catalog.CatalogModule.Register(services, configuration);
        Broker.Review.ReviewModule.Register(services, configuration);
        return new BrokerBuilder(services, configuration);
    }

    /// <summary>
    /// Exports the broker's metrics and traces as <c>Broker:Telemetry</c> and the standard <c>OTEL_*</c> variables ask:
    /// OTLP, a Prometheus scrape endpoint, or neither (the default). The host's choice, made in <c>Program.cs</c>.
    /// </summary>
    public static IBrokerBuilder AddTelemetryExport(this IBrokerBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        Broker.Telemetry.TelemetryModule.Register(builder.Services, builder.Configuration, BrokerTelemetry.MeterNames, BrokerTelemetry.ActivitySourceNames);
        return builder;
    }

    /// <summary>
    /// What a policy may declare in this process: <c>bundle: dev</c> and plain-http loopback URLs only under <c>--dev</c>,
    /// decision points only on the hosts <c>Broker:AuthZen:AllowedHosts</c> lists.
    /// </summary>
    internal static PolicyLoadOptions PolicyLoadOptionsFor(BrokerOptions broker, PolicyOptions policy, SpiffeAgentOptions spiffe, Broker.AuthZen.AuthZenOptions authZen) =>
        new(broker.DevMode, broker.DevMode || policy.AllowInsecureLoopbackUrls, policy.MaxTokenLifetime, spiffe.ResolvedEndpoint is not null)
        {
            DecisionPointHosts = authZen.ResolveAllowedHosts(),
        };

    private static void AddSubjects(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SubjectsOptions>().Bind(configuration.GetSection("Broker:Subjects")).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SubjectsOptions>, SubjectsOptionsValidator>());

        // Issuers: bounded responses, bounded time, and no redirects, so only the URLs written in policy are ever
        // fetched. Bundle endpoints (Trust/) keep the same rules, with the same timeout.
        services.AddHttpClient(OidcConfigurationRegistry.HttpClientName, (sp, client) =>
            {
                client.Timeout = sp.GetRequiredService<IOptions<SubjectsOptions>>().Value.FetchTimeout;
                client.MaxResponseContentBufferSize = 1024 * 1024;
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        services.AddOptions<BundleFetchOptions>().Configure<IOptions<SubjectsOptions>>((fetch, subjects) => fetch.RequestTimeout = subjects.Value.FetchTimeout);

        services.TryAddSingleton<ValidationCache>();
        services.TryAddSingleton<OidcConfigurationRegistry>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISubjectTokenValidator, SpiffeJwtSubjectValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISubjectTokenValidator, OidcSubjectValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISubjectTokenValidator, BrokerTokenSubjectValidator>());
        services.TryAddSingleton<SubjectTokenValidator>();
        services.TryAddSingleton<X509SvidSubjectValidator>();
    }
}
