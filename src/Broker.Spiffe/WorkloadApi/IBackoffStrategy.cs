// Broker.Spiffe — SPIFFE for .NET.

namespace Broker.Spiffe.WorkloadApi;

/// <summary>Creates retry delays for the Workload API client's streams.</summary>
public interface IBackoffStrategy
{
    /// <summary>Creates the delay sequence for one stream; each watch gets its own.</summary>
    IBackoff CreateBackoff();
}

/// <summary>A sequence of retry delays.</summary>
public interface IBackoff
{
    /// <summary>The delay before the next attempt.</summary>
    TimeSpan NextDelay();

    /// <summary>Starts over; called after every good message.</summary>
    void Reset();
}

/// <summary>
/// Linear backoff, as go-spiffe does: <see cref="Step"/>, 2×, 3×… capped at <see cref="Max"/>.
/// Defaults 1 second and 30 seconds.
/// </summary>
public sealed class LinearBackoffStrategy : IBackoffStrategy
{
    /// <summary>The increment. Default 1 second.</summary>
    public TimeSpan Step { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The cap. Default 30 seconds.</summary>
    public TimeSpan Max { get; init; } = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public IBackoff CreateBackoff() => new Linear(Step, Max);

    private sealed class Linear(TimeSpan step, TimeSpan max) : IBackoff
    {
        private int _attempt;

        public TimeSpan NextDelay()
        {
            _attempt++;
            var delay = step * _attempt;
            return delay > max ? max : delay;
        }

        public void Reset() => _attempt = 0;
    }
}
