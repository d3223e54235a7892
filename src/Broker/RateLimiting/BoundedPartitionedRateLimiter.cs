using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Broker.RateLimiting;

/// <summary>
/// A <see cref="PartitionedRateLimiter{TResource}"/> of <see cref="TokenBucketRateLimiter"/>s, one per key,
/// that holds at most a fixed number of them. <see cref="PartitionedRateLimiter.Create{TResource, TPartitionKey}"/>
/// keeps every key it has seen until its bucket has idled for ten seconds, without a bound: keys an attacker
/// can vary (OIDC subjects of an issuer it controls, client addresses) would grow it as fast as they arrive.
/// Here a key that finds the table full is refused (fail closed), and a look (<see cref="HasPermit"/>, or zero
/// permits) never adds one.
/// Replenishing and dropping idle buckets happen on one timer of <see cref="TimeProvider"/>, as the framework's
/// partitioned limiter does on its own.
/// </summary>
/// <typeparam name="TKey">The partition key; it carries whatever decides the bucket's options.</typeparam>
internal sealed class BoundedPartitionedRateLimiter<TKey> : PartitionedRateLimiter<TKey>
    where TKey : notnull
{
    /// <summary>How long a bucket stays full before it is dropped, by default (as in the framework's partitioned limiter).</summary>
    public static readonly TimeSpan DefaultIdleLimit = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<TKey, TokenBucketRateLimiter> _buckets = new();
    private readonly Func<TKey, TokenBucketRateLimiterOptions> _options;
    private readonly int _capacity;
    private readonly TimeSpan _idleLimit;
    private readonly Lease _tableFull;
    private readonly ITimer _timer;
    private int _count;

    /// <param name="options">The options of a new key's bucket; <c>AutoReplenishment</c> must be false (this limiter replenishes).</param>
    /// <param name="capacity">Most buckets held at once.</param>
    /// <param name="timeProvider">Drives the replenishing timer.</param>
    /// <param name="idleLimit">How long a bucket stays full before it is dropped; <see cref="DefaultIdleLimit"/> when null.</param>
    public BoundedPartitionedRateLimiter(Func<TKey, TokenBucketRateLimiterOptions> options, int capacity, TimeProvider timeProvider, TimeSpan? idleLimit = null)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _options = options;
        _capacity = capacity;
        _idleLimit = idleLimit ?? DefaultIdleLimit;

        // Every slot is taken: one frees once a bucket has idled past the limit.
        _tableFull = new Lease(false, _idleLimit > TimeSpan.FromSeconds(1) ? _idleLimit : TimeSpan.FromSeconds(1));
        _timer = timeProvider.CreateTimer(static state => ((BoundedPartitionedRateLimiter<TKey>)state!).Tick(), this, TickInterval, TickInterval);
    }

    /// <summary>Buckets held now.</summary>
    public int Count => Volatile.Read(ref _count);

    public override RateLimiterStatistics? GetStatistics(TKey resource) =>
        _buckets.TryGetValue(resource, out var bucket) ? bucket.GetStatistics() : null;

    /// <summary>
    /// True when <paramref name="key"/> could take one permit now, without taking it. Not <c>AttemptAcquire(key, 0)</c>:
    /// the token bucket refills continuously, and a zero-permit look succeeds on a fraction of a token.
    /// </summary>
    /// <param name="key">The partition.</param>
    /// <param name="retryAfter">When false: the longest it takes one permit to refill.</param>
    public bool HasPermit(TKey key, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (!_buckets.TryGetValue(key, out var bucket) || bucket.GetStatistics()?.CurrentAvailablePermits >= 1)
        {
            return true;
        }

        var options = _options(key);
        retryAfter = options.ReplenishmentPeriod / options.TokensPerPeriod;
        return false;
    }

    protected override RateLimitLease AttemptAcquireCore(TKey resource, int permitCount)
    {
        if (!_buckets.TryGetValue(resource, out var bucket))
        {
            // A key not seen lately has its whole budget; looking must not cost a bucket.
            if (permitCount == 0)
            {
                return Lease.Acquired;
            }

            if (Volatile.Read(ref _count) >= _capacity)
            {
                return _tableFull;
            }

            var created = new TokenBucketRateLimiter(_options(resource));
            bucket = _buckets.GetOrAdd(resource, created);
            if (ReferenceEquals(bucket, created))
            {
                Interlocked.Increment(ref _count);
            }
            else
            {
                created.Dispose();
            }
        }

        return bucket.AttemptAcquire(permitCount);
    }

    /// <summary>No queueing: waiting would hold a request (and its connection) open for an attacker.</summary>
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(TKey resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _timer.Dispose();
            foreach (var bucket in _buckets.Values)
            {
                bucket.Dispose();
            }

            _buckets.Clear();
        }

        base.Dispose(disposing);
    }

    private void Tick()
    {
        foreach (var (key, bucket) in _buckets)
        {
            if (bucket.IdleDuration is { } idle && idle >= _idleLimit)
            {
                // A request may take a permit from it between the check and the removal; the next one then
                // starts a fresh (full) bucket: at most one permit forgotten, from a bucket that was full anyway.
                // Not disposed for the same reason: without auto-replenishment or a queue it holds nothing.
                if (_buckets.TryRemove(KeyValuePair.Create(key, bucket)))
                {
                    Interlocked.Decrement(ref _count);
                }
            }
            else
            {
                bucket.TryReplenish();
            }
        }
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly Lease Acquired = new(true, null);

        public override bool IsAcquired { get; } = acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter is { } value && metadataName == MetadataName.RetryAfter.Name ? value : null;
            return metadata is not null;
        }
    }
}
