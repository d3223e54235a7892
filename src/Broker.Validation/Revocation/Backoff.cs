// Broker.Validation — resource servers honour broker tokens.

namespace Broker.Validation.Revocation;

/// <summary>The retry delay of the background clients (revocation feed, status list): exponential, capped, jittered.</summary>
internal static class Backoff
{
    /// <summary>
    /// <paramref name="baseDelay"/> doubled for each failure after the first, at most <paramref name="max"/>, then
    /// between half and the whole of it ("equal jitter", which spreads the retries of many servers after a broker
    /// restart), never below 100 ms: no tight loop even for a zero delay.
    /// </summary>
    public static TimeSpan Next(TimeSpan baseDelay, int failures, TimeSpan max)
    {
        var delay = baseDelay;
        for (var i = 1; i < failures && delay < max; i++)
        {
            delay *= 2;
        }

        if (delay > max)
        {
            delay = max;
        }

        var jittered = delay * (0.5 + (Random.Shared.NextDouble() * 0.5));
        return jittered < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : jittered;
    }
}
