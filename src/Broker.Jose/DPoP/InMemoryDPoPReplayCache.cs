// Broker.Jose — DPoP (RFC 9449).

namespace Broker.Jose.DPoP;

/// <summary>
/// An <see cref="IDPoPReplayCache"/> in process memory, for a single replica (the embedded store, tests). Entries
/// expire after their lifetime; at most <see cref="Capacity"/> unexpired entries are held.
/// </summary>
/// <remarks>
/// <para>
/// When full it fails closed: <see cref="TryAddAsync"/> throws <see cref="DPoPReplayCacheUnavailableException"/>
/// rather than evict an unexpired entry, since an evicted entry is a proof that can be replayed. A flood of valid,
/// distinct proofs therefore costs the flooder's own key and every other caller service for at most one window, never
/// replay protection; size <see cref="Capacity"/> above the proofs a replica accepts in one window.
/// </para>
/// <para>
/// One lock guards a dictionary and a queue ordered by expiry; each call first drops the entries that have expired, so
/// the work per call is amortised O(log n) and memory follows the live entries. Time comes from the
/// <see cref="TimeProvider"/>.
/// </para>
/// </remarks>
public sealed class InMemoryDPoPReplayCache : IDPoPReplayCache
{
    /// <summary>The default <see cref="Capacity"/>: 100,000 entries (about 1,400 proofs a second over a 70-second window).</summary>
    public const int DefaultCapacity = 100_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _expiries = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, long> _byExpiry = new();
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates an empty cache.</summary>
    /// <param name="timeProvider">The clock entries expire by.</param>
    /// <param name="capacity">The most unexpired entries held; at least 1. Default <see cref="DefaultCapacity"/>.</param>
    public InMemoryDPoPReplayCache(TimeProvider timeProvider, int capacity = DefaultCapacity)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _timeProvider = timeProvider;
        Capacity = capacity;
    }

    /// <summary>The most unexpired entries held.</summary>
    public int Capacity { get; }

    /// <summary>The entries held now, expired ones not yet dropped included.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _expiries.Count;
            }
        }
    }

    /// <inheritdoc />
    /// <exception cref="DPoPReplayCacheUnavailableException">The cache holds <see cref="Capacity"/> unexpired entries.</exception>
    public ValueTask<bool> TryAddAsync(string key, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        cancellationToken.ThrowIfCancellationRequested();

        var now = _timeProvider.GetUtcNow().UtcTicks;
        lock (_lock)
        {
            DropExpired(now);
            if (_expiries.ContainsKey(key))
            {
                return ValueTask.FromResult(false);
            }

            if (_expiries.Count >= Capacity)
            {
                throw new DPoPReplayCacheUnavailableException("dpop: the in-memory replay cache is full.");
            }

            var expiry = now + lifetime.Ticks;
            _expiries.Add(key, expiry);
            _byExpiry.Enqueue(key, expiry);
            return ValueTask.FromResult(true);
        }
    }

    private void DropExpired(long now)
    {
        // An entry is expired once its expiry is reached. A key re-added after expiring has a later expiry than its
        // old queue element, so that element does not remove it.
        while (_byExpiry.TryPeek(out var key, out var expiry) && expiry <= now)
        {
            _byExpiry.Dequeue();
            if (_expiries.TryGetValue(key, out var current) && current == expiry)
            {
                _expiries.Remove(key);
            }
        }
    }
}
