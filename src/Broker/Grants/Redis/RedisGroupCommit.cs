using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// Group commit of grant records (<see cref="RedisTagBatcher{TRequest, TReply}"/>): the grants of one routing tag that
/// arrive while <see cref="RedisOptions.RecordCallsInFlight"/> record calls for that tag are in flight are recorded
/// together in the next call of <see cref="RedisGrantScripts.Record"/>, at most <see cref="RedisOptions.MaxRecordBatch"/>
/// at a time. Each caller gets its own grant's reply, and only once Redis acknowledged the whole call (and, with
/// <see cref="RedisOptions.WaitForReplicas"/>, the replicas did): a call that failed or timed out fails every grant in it
/// closed.
/// </summary>
/// <remarks>
/// Inside a call grants are recorded in the order they arrived; two calls in flight run one after the other in Redis,
/// each atomic, in either order (their callers were concurrent, so either is an order they could have had). A caller
/// whose wait ended (cancelled or timed out) before its batch is sent is left out of it; once sent, its grant may be
/// recorded without its token ever being returned (the orphan record expires with its TTL). The other grants of the batch
/// are not affected either way.
/// </remarks>
internal sealed class RedisGroupCommit
{
    private const string Operation = nameof(IGrantStore.RecordAsync);

    private readonly RedisStoreConnection _redis;
    private readonly RedisGrantKeys _keys;
    private readonly GrantStoreTelemetry _telemetry;
    private readonly RedisTagBatcher<GrantCall, RedisResult> _batcher;

    public RedisGroupCommit(RedisStoreConnection redis, RedisGrantKeys keys, int maxBatch, int callsInFlight, GrantStoreTelemetry telemetry)
    {
        _redis = redis;
        _keys = keys;
        _telemetry = telemetry;
        _batcher = new(redis, maxBatch, callsInFlight, SendAsync);
    }

    /// <summary>
    /// Records one grant (its keys and arguments as <see cref="RedisGrantScripts.RecordOne"/> takes them) with whatever
    /// else of its tag is waiting, and returns its own reply. Waits at most <see cref="RedisOptions.OperationTimeout"/>.
    /// </summary>
    /// <exception cref="GrantStoreUnavailableException">Redis did not acknowledge the call in time, or failed it.</exception>
    public Task<RedisResult> RecordAsync(string tag, RedisKey[] grantKeys, RedisValue[] arguments, CancellationToken cancellationToken)
        => _batcher.RunAsync(Operation, tag, new GrantCall(grantKeys, arguments), cancellationToken);

    /// <summary>One script call for the batch's grants, then WAIT when replicas must acknowledge.</summary>
    private async Task<RedisResult[]> SendAsync(string tag, GrantCall[] grants)
    {
        var keyCount = 0;
        var argumentCount = 0;
        foreach (var grant in grants)
        {
            keyCount += grant.Keys.Length;
            argumentCount += grant.Arguments.Length;
        }

        var scriptKeys = new RedisKey[keyCount];
        var arguments = new RedisValue[1 + (2 * grants.Length) + argumentCount];
        arguments[0] = grants.Length;
        int k = 0, a = 1 + (2 * grants.Length);
        for (var i = 0; i < grants.Length; i++)
        {
            var grant = grants[i];
            arguments[1 + (2 * i)] = grant.Keys.Length;
            arguments[2 + (2 * i)] = grant.Arguments.Length;
            grant.Keys.CopyTo(scriptKeys, k);
            grant.Arguments.CopyTo(arguments, a);
            k += grant.Keys.Length;
            a += grant.Arguments.Length;
        }

        _telemetry.RecordedTogether(grants.Length);
        var replies = (RedisResult[])(await _redis.EvaluateAsync(Operation, RedisGrantScripts.Record, scriptKeys, arguments, CancellationToken.None))!;

        // WAIT covers every write this connection made so far: one for the batch confirms each of its grants.
        await _redis.WaitForReplicasAsync(_keys.RevocationStream(tag), Operation, CancellationToken.None);
        return replies;
    }

    /// <summary>One grant's keys and arguments of the record script.</summary>
    private readonly record struct GrantCall(RedisKey[] Keys, RedisValue[] Arguments);
}
