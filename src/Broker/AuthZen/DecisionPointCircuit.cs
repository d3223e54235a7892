namespace Broker.AuthZen;

/// <summary>
/// One decision point's bounds: how many evaluations are in flight (never more than the limit; the next is refused, not
/// queued) and a circuit breaker (after enough failures in a row the decision point is not called for a while, then one
/// trial call decides). Thread-safe.
/// </summary>
internal sealed class DecisionPointCircuit(int maxConcurrent, int failuresToOpen, TimeSpan openFor)
{
    private readonly Lock _lock = new();
    private int _inFlight;
    private int _failures;
    private DateTimeOffset _openUntil = DateTimeOffset.MinValue;
    private bool _trialInFlight;

    /// <summary>Takes a slot for one call at <paramref name="now"/>; null when the call may go, otherwise why not.</summary>
    /// <param name="now">The current time.</param>
    /// <param name="trial">True when this call is the trial of a circuit that was open.</param>
    public string? TryEnter(DateTimeOffset now, out bool trial)
    {
        trial = false;
        lock (_lock)
        {
            if (_failures >= failuresToOpen)
            {
                // Open, or half-open with its one trial already out: nothing goes to a decision point that is failing.
                if (now < _openUntil || _trialInFlight)
                {
                    return "circuit open";
                }

                _trialInFlight = true;
                trial = true;
            }
        }

        if (Interlocked.Increment(ref _inFlight) > maxConcurrent)
        {
            Interlocked.Decrement(ref _inFlight);
            if (trial)
            {
                lock (_lock)
                {
                    _trialInFlight = false;
                }
            }

            return "too many evaluations in flight";
        }

        return null;
    }

    /// <summary>
    /// Gives back the slot of a call that <see cref="TryEnter"/> let go, and counts its outcome: true when it answered
    /// (permit or deny), false when it failed, null when the caller went away (counted as neither).
    /// </summary>
    /// <returns>Whether the circuit opened or closed because of this outcome.</returns>
    public CircuitChange Exit(bool? answered, bool trial, DateTimeOffset now)
    {
        Interlocked.Decrement(ref _inFlight);
        lock (_lock)
        {
            if (trial)
            {
                _trialInFlight = false;
            }

            switch (answered)
            {
                case true:
                    var wasOpen = _failures >= failuresToOpen;
                    _failures = 0;
                    return wasOpen ? CircuitChange.Closed : CircuitChange.None;
                case false:
                    _failures = Math.Min(_failures + 1, failuresToOpen);
                    if (_failures < failuresToOpen)
                    {
                        return CircuitChange.None;
                    }

                    var opening = now >= _openUntil;
                    _openUntil = now + openFor;
                    return opening ? CircuitChange.Opened : CircuitChange.None;
                default:
                    return CircuitChange.None;
            }
        }
    }

    /// <summary>How a call changed the circuit, for the log.</summary>
    internal enum CircuitChange
    {
        None,
        Opened,
        Closed,
    }
}
