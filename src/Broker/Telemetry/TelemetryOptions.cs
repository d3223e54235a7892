using System.Net;
using Microsoft.Extensions.Options;

namespace Broker.Telemetry;

/// <summary>
/// Export of the broker's metrics and traces, bound from <c>Broker:Telemetry</c>. Nothing is exported by default: OTLP
/// is on when <see cref="OtlpEndpoint"/> or the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, the Prometheus
/// scrape endpoint when <see cref="PrometheusOptions.Enabled"/> is.
/// </summary>
internal sealed class TelemetryOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Broker:Telemetry";

    /// <summary>
    /// Where to send traces and metrics over OTLP (for example <c>http://otel-collector:4317</c>); null (the default)
    /// leaves it to <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, and without either nothing is sent. The protocol, headers and
    /// intervals follow the standard <c>OTEL_EXPORTER_OTLP_*</c> and <c>OTEL_METRIC_EXPORT_INTERVAL</c> variables.
    /// </summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary>The Prometheus scrape endpoint.</summary>
    public PrometheusOptions Prometheus { get; set; } = new();
}

/// <summary>
/// The Prometheus scrape endpoint, bound from <c>Broker:Telemetry:Prometheus</c>. Off by default; when on, served
/// on a port of its own (<see cref="Port"/>, default 9464) that the public listener does not share, over plain HTTP.
/// </summary>
internal sealed class PrometheusOptions
{
    /// <summary>Serve the scrape endpoint. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>The path of the endpoint. Default <c>/metrics</c>.</summary>
    public string Path { get; set; } = "/metrics";

    /// <summary>
    /// The port of the scrape listener, 0 to 65535 (0: any free port, for tests). Default 9464, the port the
    /// OpenTelemetry Prometheus exporters register. Must not be a port the broker's public listener uses.
    /// </summary>
    public int Port { get; set; } = 9464;

    /// <summary>
    /// The address the scrape listener binds: <c>*</c> (the default: every interface, as a pod's Prometheus needs) or
    /// an IP address such as <c>127.0.0.1</c>.
    /// </summary>
    public string BindAddress { get; set; } = "*";

    /// <summary>
    /// Serve <see cref="Path"/> on the broker's own listener instead of a separate port: for a deployment that can
    /// expose one port only. The endpoint is then as public as the token endpoint; put it behind the ingress's rules.
    /// Default false.
    /// </summary>
    public bool UsePublicPort { get; set; }
}

/// <summary>Fails the start on telemetry settings that cannot work.</summary>
internal sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> errors = [];
        if (options.OtlpEndpoint is { } otlp && (!otlp.IsAbsoluteUri || (otlp.Scheme != Uri.UriSchemeHttp && otlp.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"{TelemetryOptions.SectionName}:OtlpEndpoint must be an absolute http or https URL.");
        }

        var prometheus = options.Prometheus;
        if (prometheus.Enabled)
        {
            // The path is matched literally: no query, no fragment, no segments that normalise away.
            if (string.IsNullOrEmpty(prometheus.Path) || prometheus.Path[0] != '/' || prometheus.Path.Length > 200
                || prometheus.Path.Any(c => c is '?' or '#' or '%' or '\\' || char.IsWhiteSpace(c) || char.IsControl(c)) || prometheus.Path.Contains("/.", StringComparison.Ordinal))
            {
                errors.Add($"{TelemetryOptions.SectionName}:Prometheus:Path must be an absolute path such as /metrics (no query, fragment, escapes or dot segments).");
            }

            if (!prometheus.UsePublicPort)
            {
                if (prometheus.Port is < 0 or > 65535)
                {
                    errors.Add($"{TelemetryOptions.SectionName}:Prometheus:Port must be between 0 and 65535.");
                }

                if (prometheus.BindAddress != "*" && !IPAddress.TryParse(prometheus.BindAddress, out _))
                {
                    errors.Add($"{TelemetryOptions.SectionName}:Prometheus:BindAddress must be * or an IP address.");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
