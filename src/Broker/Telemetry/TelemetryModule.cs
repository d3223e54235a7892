using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Broker.Telemetry;

/// <summary>
/// The host's export of the broker's metrics and traces: the OpenTelemetry SDK with OTLP (traces and metrics) and a
/// Prometheus scrape endpoint (metrics), each opt-in. The features only record, through
/// <see cref="System.Diagnostics.Metrics.IMeterFactory"/> and <see cref="System.Diagnostics.ActivitySource"/>; this is
/// the one place that knows an exporter. Logs are not exported here: they stay structured on the console, for the
/// platform's log shipper.
/// </summary>
internal static class TelemetryModule
{
    /// <summary>The standard variable that turns OTLP on (OpenTelemetry specification, SDK environment variables).</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static void Register(IServiceCollection services, IConfiguration configuration, IReadOnlyList<string> meterNames, IReadOnlyList<string> activitySourceNames)
    {
        services.AddOptions<TelemetryOptions>().Bind(configuration.GetSection(TelemetryOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TelemetryOptions>, TelemetryOptionsValidator>());

        // Decided from configuration at registration, like the grant store: without an exporter no SDK is added, and
        // the instruments cost a branch each.
        var otlpEndpoint = configuration[$"{TelemetryOptions.SectionName}:{nameof(TelemetryOptions.OtlpEndpoint)}"];
        var otlp = !string.IsNullOrWhiteSpace(otlpEndpoint) || !string.IsNullOrWhiteSpace(configuration[OtlpEndpointVariable]);
        var prometheus = configuration.GetValue<bool>($"{TelemetryOptions.SectionName}:Prometheus:{nameof(PrometheusOptions.Enabled)}");
        if (!otlp && !prometheus)
        {
            return;
        }

        var telemetry = services.AddOpenTelemetry();
        if (string.IsNullOrWhiteSpace(configuration["OTEL_SERVICE_NAME"]))
        {
            telemetry.ConfigureResource(resource => resource.AddService("broker"));
        }

        telemetry.WithMetrics(metrics =>
        {
            // The broker's meters, ASP.NET Core's and Kestrel's (http.server.request.duration …), and the runtime's.
            metrics.AddMeter([.. meterNames]).AddAspNetCoreInstrumentation().AddMeter("System.Runtime");
            if (otlp)
            {
                metrics.AddOtlpExporter((exporter, reader) => ConfigureOtlp(exporter, otlpEndpoint, "v1/metrics"));
            }

            if (prometheus)
            {
                metrics.AddPrometheusExporter();
            }
        });

        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource([.. activitySourceNames])

                // Outgoing calls to OIDC issuers and bundle endpoints (the runtime's own HttpClient spans).
                .AddSource("System.Net.Http")

                // Probes every few seconds would drown the traces that matter. The instrumentation records no headers,
                // bodies or query values (it redacts them): tokens travel in the form body and headers.
                .AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = context => !IsProbeOrScrape(context.Request.Path))
                .AddOtlpExporter(exporter => ConfigureOtlp(exporter, otlpEndpoint, "v1/traces")));
        }

        if (prometheus && !configuration.GetValue<bool>($"{TelemetryOptions.SectionName}:Prometheus:{nameof(PrometheusOptions.UsePublicPort)}"))
        {
            services.TryAddSingleton<PrometheusScrapeServer>();
            services.AddHostedService(sp => sp.GetRequiredService<PrometheusScrapeServer>());
        }
    }

    /// <summary>Maps the scrape endpoint on the public listener, only when asked to (<see cref="PrometheusOptions.UsePublicPort"/>).</summary>
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        var options = services.GetRequiredService<IOptions<TelemetryOptions>>().Value;
        if (options.OtlpEndpoint is { } endpoint || services.GetRequiredService<IConfiguration>()[OtlpEndpointVariable] is { Length: > 0 })
        {
            // Scheme, host and port only: the URL could carry credentials.
            var target = options.OtlpEndpoint ?? new Uri(services.GetRequiredService<IConfiguration>()[OtlpEndpointVariable]!, UriKind.RelativeOrAbsolute);
            Log.OtlpExportEnabled(services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TelemetryModule).FullName!), target.IsAbsoluteUri ? target.GetLeftPart(UriPartial.Authority) : "(unparsable endpoint)");
        }

        if (options.Prometheus is { Enabled: true, UsePublicPort: true } prometheus)
        {
            // GET {path} — Prometheus text exposition, on the public listener by the operator's choice.
            endpoints.MapPrometheusScrapingEndpoint(prometheus.Path).AllowAnonymous();
            Log.PrometheusOnPublicPort(services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TelemetryModule).FullName!), prometheus.Path);
        }
    }

    private static bool IsProbeOrScrape(PathString path) =>
        path.StartsWithSegments("/healthz", StringComparison.Ordinal) || path.StartsWithSegments("/readyz", StringComparison.Ordinal)
        || path.StartsWithSegments("/metrics", StringComparison.Ordinal);

    /// <summary>
    /// Applies <c>Broker:Telemetry:OtlpEndpoint</c> when set (the standard variables configured the rest). Over
    /// http/protobuf the exporter appends the signal's path only to an endpoint that came from the environment, so
    /// it is appended here for one from the broker's own setting.
    /// </summary>
    private static void ConfigureOtlp(OtlpExporterOptions exporter, string? configured, string signalPath)
    {
        if (string.IsNullOrWhiteSpace(configured) || !Uri.TryCreate(configured, UriKind.Absolute, out var endpoint))
        {
            return;
        }

        exporter.Endpoint = exporter.Protocol == OtlpExportProtocol.HttpProtobuf
            ? new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/" + signalPath)
            : endpoint;
    }
}
