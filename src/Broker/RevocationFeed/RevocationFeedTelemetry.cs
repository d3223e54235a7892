using System.Diagnostics.Metrics;
using Broker.Grants;
using Broker.Telemetry;

namespace Broker.RevocationFeed;

/// <summary>
/// Revocation feed metrics (meter <c>Broker.RevocationFeed</c>): the verifiers connected to this replica, the events
/// sent, and the lag of live events (revocation to event written). The feed has no spans: a connection lasts up to
/// <see cref="RevocationFeedOptions.FeedMaxConnectionLifetime"/>, far longer than a trace should.
/// </summary>
internal sealed class RevocationFeedTelemetry
{
    /// <summary>The meter's name.</summary>
    public const string Name = "Broker.RevocationFeed";

    private readonly Counter<long> _events;
    private readonly Counter<long> _refused;
    private readonly Histogram<double> _lag;

    public RevocationFeedTelemetry(IMeterFactory meterFactory, FeedConnectionLimit connections)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(connections);
        var meter = meterFactory.Create(Name);
        meter.CreateObservableUpDownCounter(
            "broker.revocation_feed.connections", () => connections.Open, "{connection}", "Verifiers connected to this replica's revocation feed.");
        _refused = meter.CreateCounter<long>(
            "broker.revocation_feed.connections.refused", "{connection}", "Feed connections refused because this replica had Broker:RevocationFeed:FeedMaxConnections open.");
        _events = meter.CreateCounter<long>(
            "broker.revocation_feed.events", "{event}", "Events written to verifiers, by type: revoked, reset (history lost).");
        _lag = meter.CreateHistogram(
            "broker.revocation_feed.lag", "s",
            "Time from a revocation (on the clock of the replica that made it) to its live event being written to a connected verifier; history replays are not counted.",
            advice: TelemetryBuckets.Seconds);
    }

    /// <summary>A connection refused at the limit.</summary>
    public void ConnectionRefused() => _refused.Add(1);

    /// <summary>A <c>revoked</c> event written; <paramref name="live"/> when it was announced while the verifier was connected.</summary>
    public void Revoked(RevocationEntry entry, bool live, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(entry);
        _events.Add(1, new KeyValuePair<string, object?>("broker.revocation_feed.event", "revoked"));
        if (live)
        {
            // Clocks of two replicas may disagree by a little: a negative lag is recorded as none.
            _lag.Record(Math.Max(0, (now - entry.RevokedAt).TotalSeconds));
        }
    }

    /// <summary>A <c>reset</c> event written (the verifier's position was trimmed).</summary>
    public void Reset() => _events.Add(1, new KeyValuePair<string, object?>("broker.revocation_feed.event", "reset"));
}
