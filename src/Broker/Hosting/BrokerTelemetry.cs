using Broker.DPoP;
using Broker.Exchange;
using Broker.Grants;
using Broker.Keys;
using Broker.Policy;
using Broker.RateLimiting;
using Broker.RevocationFeed;

namespace Broker.Hosting;

/// <summary>
/// The names of the broker's meters and activity sources (one per feature), for whoever collects them: the host's
/// OpenTelemetry wiring (<see cref="Telemetry.TelemetryModule"/>), or a test's listener. The instruments themselves are listed
/// in <c>docs/operations.md</c>, "Metrics and traces".
/// </summary>
internal static class BrokerTelemetry
{
    /// <summary>Every meter the broker creates (through <c>IMeterFactory</c>).</summary>
    public static IReadOnlyList<string> MeterNames { get; } =
    [
        ExchangeTelemetry.Name,
        PolicyTelemetry.Name,
        GrantStoreTelemetry.Name,
        RevocationFeedTelemetry.Name,
        KeysTelemetry.Name,
        RateLimitingTelemetry.Name,
        DPoPTelemetry.Name,
    ];

    /// <summary>Every activity source the broker starts spans from.</summary>
    public static IReadOnlyList<string> ActivitySourceNames { get; } =
    [
        ExchangeTelemetry.Name,
        PolicyTelemetry.Name,
        GrantStoreTelemetry.Name,
    ];
}
