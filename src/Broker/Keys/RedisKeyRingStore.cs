using System.Text.Json;
using Broker.Grants.Redis;
using StackExchange.Redis;

namespace Broker.Keys;

/// <summary>
/// The shared ring in Redis: one hash (<c>{prefix}keyring</c>: <c>version</c>, <c>ring</c> JSON) written only by
/// compare-and-set on its version, the rotation lease (<c>{prefix}keyring:lease</c>, <c>SET NX PX</c> with a random
/// token, released and renewed only by its holder), and a channel (<c>{prefix}keyring:changed</c>) that announces each
/// new version. One key per operation, so it works unchanged on Redis Cluster. Every call is bounded by
/// <see cref="RedisOptions.OperationTimeout"/>; failures surface as <see cref="RedisException"/> or
/// <see cref="TimeoutException"/>.
/// </summary>
internal sealed class RedisKeyRingStore
{
    // Writes the ring only if nobody wrote it since it was read: the version is the fencing token that keeps a
    // replica whose lease expired mid-rotation from overwriting a newer ring.
    private static readonly RedisScript CompareAndSetScript = new(CompareAndSetText);

    private const string CompareAndSetText = """
        local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
        if current ~= tonumber(ARGV[1]) then return -1 end
        redis.call('HSET', KEYS[1], 'version', current + 1, 'ring', ARGV[2])
        return current + 1
        """;

    // Deletes (or extends) the lease only while it is still ours: after it expired, another replica's lease is left alone.
    private static readonly RedisScript ReleaseScript = new(ReleaseText);

    private const string ReleaseText = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    private static readonly RedisScript RenewScript = new(RenewText);

    private const string RenewText = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 0
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly TimeSpan _timeout;

    public RedisKeyRingStore(IConnectionMultiplexer redis, RedisOptions options)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        _redis = redis;
        _timeout = options.OperationTimeout;
        RingKey = options.KeyPrefix + "keyring";
        LeaseKey = options.KeyPrefix + "keyring:lease";
        Channel = RedisChannel.Literal(options.KeyPrefix + "keyring:changed");
        DataProtectionKey = options.KeyPrefix + "dataprotection:keys";
    }

    public RedisKey RingKey { get; }

    public RedisKey LeaseKey { get; }

    public RedisChannel Channel { get; }

    /// <summary>Where Data Protection keeps its own (encrypted) keys: a list of XML elements.</summary>
    public RedisKey DataProtectionKey { get; }

    public async Task<VersionedKeyRing> ReadAsync(CancellationToken cancellationToken)
    {
        var fields = await _redis.GetDatabase().HashGetAsync(RingKey, ["version", "ring"]).WaitAsync(_timeout, cancellationToken);
        if (fields[0].IsNull || fields[1].IsNull)
        {
            return VersionedKeyRing.Empty;
        }

        var ring = JsonSerializer.Deserialize((string)fields[1]!, KeysJsonContext.Default.StoredKeyRing)
            ?? throw new JsonException("The stored key ring is empty JSON.");
        return new VersionedKeyRing((long)fields[0], ring.Keys);
    }

    /// <summary>Writes <paramref name="keys"/> if the ring is still at <paramref name="expectedVersion"/>; the new version, or null when it moved on.</summary>
    public async Task<long?> CompareAndSetAsync(long expectedVersion, IReadOnlyList<StoredKey> keys, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(new StoredKeyRing(keys), KeysJsonContext.Default.StoredKeyRing);
        var result = (long)await CompareAndSetScript.EvaluateAsync(_redis.GetDatabase(), [RingKey], [expectedVersion, json]).WaitAsync(_timeout, cancellationToken);
        if (result < 0)
        {
            return null;
        }

        // Best effort: a lost announcement is made up by every replica's poll.
        await _redis.GetSubscriber().PublishAsync(Channel, result).WaitAsync(_timeout, cancellationToken);
        return result;
    }

    /// <summary>Takes the rotation lease for <paramref name="duration"/> under <paramref name="token"/>; false when another replica holds it.</summary>
    public Task<bool> TryAcquireLeaseAsync(string token, TimeSpan duration, CancellationToken cancellationToken) =>
        _redis.GetDatabase().StringSetAsync(LeaseKey, token, duration, When.NotExists).WaitAsync(_timeout, cancellationToken);

    /// <summary>Extends the lease if it is still held under <paramref name="token"/>.</summary>
    public async Task<bool> RenewLeaseAsync(string token, TimeSpan duration, CancellationToken cancellationToken) =>
        (long)await RenewScript.EvaluateAsync(_redis.GetDatabase(), [LeaseKey], [token, (long)duration.TotalMilliseconds]).WaitAsync(_timeout, cancellationToken) == 1;

    /// <summary>Releases the lease if it is still held under <paramref name="token"/>.</summary>
    public async Task<bool> ReleaseLeaseAsync(string token, CancellationToken cancellationToken) =>
        (long)await ReleaseScript.EvaluateAsync(_redis.GetDatabase(), [LeaseKey], [token]).WaitAsync(_timeout, cancellationToken) == 1;

    /// <summary>Calls <paramref name="onChanged"/> with the announced version whenever a replica writes the ring.</summary>
    public Task SubscribeAsync(Action<long> onChanged, CancellationToken cancellationToken) =>
        _redis.GetSubscriber().SubscribeAsync(Channel, (_, message) =>
        {
            if (message.TryParse(out long version))
            {
                onChanged(version);
            }
        }).WaitAsync(_timeout, cancellationToken);

    /// <summary>The Data Protection key elements, as stored (XML text).</summary>
    public async Task<IReadOnlyList<string>> ReadDataProtectionKeysAsync(CancellationToken cancellationToken) =>
        [.. (await _redis.GetDatabase().ListRangeAsync(DataProtectionKey).WaitAsync(_timeout, cancellationToken)).Where(v => !v.IsNull).Select(v => (string)v!)];
}
