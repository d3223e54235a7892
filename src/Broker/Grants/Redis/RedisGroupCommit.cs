using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// Group commit of grant records: the grants of one routing tag that arrive while
/// <see cref="RedisOptions.RecordCallsInFlight"/> record calls for that tag are in flight are recorded together in the
/// next call of <see cref="RedisGrantScripts.Record"/>, at most <see cref="RedisOptions.MaxRecordBatch"/> at a time.
/// No delay is added: a grant that finds a call free is sent at once. Each caller gets its own grant's reply, and only once Redis acknowledged the whole call (and,
/// with <see cref="RedisOptions.WaitForReplicas"/>, the replicas did): a call that failed or timed out fails every
/// grant in it closed.
/// </summary>
/// <remarks>
/// A batch holds the grants of one tag: a tag is one Redis Cluster hash slot (every key of a grant carries it), so a
/// batch is always a single-slot script. Inside a call grants are recorded in the order they arrived; two calls in
/// flight run one after the other in Redis, each atomic, in either order (their callers were concurrent, so either is
/// an order they could have had). A caller whose wait is
/// cancelled before its batch is sent is left out of it; once sent, its grant may be recorded without its token ever
/// being returned, as after a timeout (the orphan record expires with its TTL). The other grants of the batch are
/// not affected either way.
/// </remarks>
internal sealed class RedisGroupCommit(RedisStoreConnection redis, RedisGrantKeys keys, int maxBatch, int callsInFlight, GrantStoreTelemetry telemetry)
{
    private const string Operation = nameof(IGrantStore.RecordAsync);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Partition> _partitions = new(StringComparer.Ordinal);

    /// <summary>
    /// Records one grant (its keys and arguments as <see cref="RedisGrantScripts.RecordOne"/> takes them) with whatever
    /// else of its tag is waiting, and returns its own reply. Waits at most <see cref="RedisOptions.OperationTimeout"/>.
    /// </summary>
    /// <exception cref="GrantStoreUnavailableException">Redis did not acknowledge the call in time, or failed it.</exception>
    public Task<RedisResult> RecordAsync(string tag, RedisKey[] grantKeys, RedisValue[] arguments, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new Pending(grantKeys, arguments, cancellationToken);
        Partition? partition;
        bool start;
        lock (_gate)
        {
            if (!_partitions.TryGetValue(tag, out partition))
            {
                partition = new Partition();
                _partitions.Add(tag, partition);
            }

            partition.Queue.Add(pending);
            start = partition.Senders < callsInFlight;
            if (start)
            {
                partition.Senders++;
            }
        }

        if (start)
        {
            // Runs on this thread up to its first send: a grant that finds a call free goes out at once.
            _ = DrainAsync(tag, partition);
        }

        return redis.BoundAsync(Operation, pending.Task, cancellationToken);
    }

    /// <summary>Sends the tag's waiting grants, a batch at a time, until none is left (one sender of the tag's calls in flight).</summary>
    private async Task DrainAsync(string tag, Partition partition)
    {
        while (true)
        {
            Pending[] batch;
            lock (_gate)
            {
                if (partition.Queue.Count == 0)
                {
                    if (--partition.Senders == 0)
                    {
                        _partitions.Remove(tag);
                    }

                    return;
                }

                var count = Math.Min(partition.Queue.Count, maxBatch);
                batch = partition.Queue.GetRange(0, count).ToArray();
                partition.Queue.RemoveRange(0, count);
            }

            await SendAsync(tag, batch);
        }
    }

    /// <summary>One script call for <paramref name="batch"/>; completes every member, never throws.</summary>
    private async Task SendAsync(string tag, Pending[] batch)
    {
        List<Pending> members = new(batch.Length);
        var keyCount = 0;
        var argumentCount = 0;
        foreach (var pending in batch)
        {
            if (pending.CancellationToken.IsCancellationRequested)
            {
                pending.TrySetCanceled(pending.CancellationToken);
                continue;
            }

            members.Add(pending);
            keyCount += pending.Keys.Length;
            argumentCount += pending.Arguments.Length;
        }

        if (members.Count == 0)
        {
            return;
        }

        var scriptKeys = new RedisKey[keyCount];
        var arguments = new RedisValue[1 + (2 * members.Count) + argumentCount];
        arguments[0] = members.Count;
        int k = 0, a = 1 + (2 * members.Count);
        for (var i = 0; i < members.Count; i++)
        {
            var member = members[i];
            arguments[1 + (2 * i)] = member.Keys.Length;
            arguments[2 + (2 * i)] = member.Arguments.Length;
            member.Keys.CopyTo(scriptKeys, k);
            member.Arguments.CopyTo(arguments, a);
            k += member.Keys.Length;
            a += member.Arguments.Length;
        }

        telemetry.RecordedTogether(members.Count);
        try
        {
            var replies = (RedisResult[])(await redis.EvaluateAsync(Operation, RedisGrantScripts.Record, scriptKeys, arguments, CancellationToken.None))!;
            if (replies.Length != members.Count)
            {
                throw new InvalidOperationException($"The record script answered {replies.Length} replies for {members.Count} grants.");
            }

            // WAIT covers every write this connection made so far: one for the batch confirms each of its grants.
            await redis.WaitForReplicasAsync(keys.RevocationStream(tag), Operation, CancellationToken.None);
            for (var i = 0; i < members.Count; i++)
            {
                members[i].TrySetResult(replies[i]);
            }
        }
        catch (Exception e)
        {
            // Fail closed, every member: none of their tokens may be returned. Each caller gets an exception of its own.
            foreach (var member in members)
            {
                member.TrySetException(e is GrantStoreUnavailableException ? new GrantStoreUnavailableException(e.Message, e) : e);
            }
        }
    }

    /// <summary>The grants of one tag waiting for a call, and how many senders have a call in flight or about to be.</summary>
    private sealed class Partition
    {
        public List<Pending> Queue { get; } = [];

        public int Senders { get; set; }
    }

    /// <summary>
    /// One caller's grant and its reply. Continuations run asynchronously, so that completing a batch does not run its
    /// callers' requests on the thread that sends the next one.
    /// </summary>
    private sealed class Pending(RedisKey[] keys, RedisValue[] arguments, CancellationToken cancellationToken)
        : TaskCompletionSource<RedisResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public RedisKey[] Keys { get; } = keys;

        public RedisValue[] Arguments { get; } = arguments;

        public CancellationToken CancellationToken { get; } = cancellationToken;
    }
}
