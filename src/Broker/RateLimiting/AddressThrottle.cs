using System.Collections.Concurrent;
using System.Net;

namespace Broker.RateLimiting;

/// <summary>
/// At most one "yes" per client address per interval: bounds the log lines and audit events that
/// unauthenticated callers cause. Holds at most a fixed number of addresses; when full, and nothing has
/// expired, it says no (a flood of addresses is then summarised by silence, not by unbounded memory).
/// </summary>
internal sealed class AddressThrottle(TimeProvider timeProvider, TimeSpan interval, int capacity)
{
    private readonly ConcurrentDictionary<AddressKey, long> _until = new();
    private readonly long _intervalTicks = (long)(interval.TotalSeconds * timeProvider.TimestampFrequency);

    /// <summary>True when nothing was let through for <paramref name="address"/> within the interval.</summary>
    public bool TryEnter(IPAddress? address)
    {
        var key = AddressKey.From(address);
        var now = timeProvider.GetTimestamp();
        if (_until.TryGetValue(key, out var until) && now < until)
        {
            return false;
        }

        if (_until.Count >= capacity)
        {
            foreach (var (stale, expires) in _until)
            {
                if (expires <= now)
                {
                    _until.TryRemove(KeyValuePair.Create(stale, expires));
                }
            }

            if (_until.Count >= capacity)
            {
                return false;
            }
        }

        // Two requests racing here may both pass: two lines instead of one, never an unbounded number.
        _until[key] = now + _intervalTicks;
        return true;
    }
}
