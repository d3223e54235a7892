namespace Broker.Telemetry;

/// <summary>Telemetry log messages, EventIds 1500-1599. Names are a telemetry contract: never rename.</summary>
internal static partial class Log
{
    [LoggerMessage(1500, LogLevel.Information, "Exporting traces and metrics over OTLP to {Endpoint}.", EventName = nameof(OtlpExportEnabled))]
    public static partial void OtlpExportEnabled(ILogger logger, string endpoint);

    [LoggerMessage(1501, LogLevel.Information, "Serving the Prometheus scrape endpoint at {Address}.", EventName = nameof(PrometheusEndpointListening))]
    public static partial void PrometheusEndpointListening(ILogger logger, string address);

    [LoggerMessage(1502, LogLevel.Warning, "The Prometheus scrape endpoint {Path} is served on the broker's public listener (Broker:Telemetry:Prometheus:UsePublicPort).", EventName = nameof(PrometheusOnPublicPort))]
    public static partial void PrometheusOnPublicPort(ILogger logger, string path);
}
