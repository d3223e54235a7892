using System.Diagnostics.Metrics;

namespace Broker.Telemetry;

/// <summary>
/// Histogram bucket advice for durations in seconds. The SDK's default boundaries (0, 5, 10, 25 … 10000) suit
/// milliseconds; in seconds every sample would land in the first bucket.
/// </summary>
internal static class TelemetryBuckets
{
    /// <summary>
    /// From 100 µs (an in-memory store call, a policy decision) to 10 s (a Redis timeout, a slow issuer), the
    /// OpenTelemetry HTTP semantic conventions' boundaries extended downwards.
    /// </summary>
    public static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    };
}
