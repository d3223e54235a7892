using System.Diagnostics.Metrics;

namespace Broker.Keys;

/// <summary>
/// Key ring metrics (meter <c>Broker.Keys</c>): rotations, counted by whoever rotates (<see cref="Rotated"/>), and
/// the keys the JWKS publishes. Today the ring is loaded once at start; a rotating ring calls <see cref="Rotated"/>
/// on every replica that switches its active key, so the counter reads the same on all of them.
/// </summary>
internal sealed class KeysTelemetry
{
    /// <summary>The meter's name.</summary>
    public const string Name = "Broker.Keys";

    private readonly Meter _meter;
    private readonly Counter<long> _rotations;
    private int _observing;

    public KeysTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(Name);
        _rotations = _meter.CreateCounter<long>(
            "broker.keys.rotations", "{rotation}", "Changes of the active signing key seen by this replica, by trigger: scheduled, manual (brokerctl keys rotate), imported (a PEM file).");
    }

    /// <summary>
    /// Counts one change of the active key. <paramref name="trigger"/> is one of a few fixed words
    /// (<c>scheduled</c>, <c>manual</c>, <c>imported</c>), never a key ID.
    /// </summary>
    public void Rotated(string trigger) => _rotations.Add(1, new KeyValuePair<string, object?>("broker.keys.rotation.trigger", trigger));

    /// <summary>
    /// Reports the ring's published keys from now on (<c>broker.keys.published</c>). Called once the ring exists (at
    /// start), not from the constructor: a ring that counts its rotations here must be able to depend on this type.
    /// </summary>
    public void Observe(ISigningKeyProvider keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (Interlocked.Exchange(ref _observing, 1) == 0)
        {
            _meter.CreateObservableGauge(
                "broker.keys.published", () => keys.Published.Count, "{key}", "Signing keys in the JWKS, the active one included.");
        }
    }
}
