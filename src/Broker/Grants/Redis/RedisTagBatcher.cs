namespace Broker.Grants.Redis;

/// <summary>
/// Store calls of one routing tag made together: the requests of a tag that arrive while <c>callsInFlight</c> calls for
/// that tag are in flight go together in the next one, at most <c>maxBatch</c> at a time, sent by <c>send</c> (one reply
/// per request, in order). No delay is added: a request that finds a call free is sent at once. Each caller gets its own
/// reply, and only once the whole call succeeded: a call that failed or timed out fails every request in it. Group commit
/// of grant records (<see cref="RedisGroupCommit"/>) and grouped reads of single grants (<see cref="RedisGrantRecords"/>)
/// are its uses: under load, one script call carries many callers' work, and Redis runs, parses and answers it once.
/// </summary>
/// <remarks>
/// A batch holds the requests of one tag: a tag is one Redis Cluster hash slot (every key of a grant carries it), so a
/// batch is always a single-slot call. Requests go in the order they arrived. A caller whose wait ended (cancelled, or
/// past the operation timeout) before its batch is sent is left out of it, so a stall does not leave a backlog of
/// abandoned requests to replay; once sent, its request runs whether or not the caller still waits. A request queued
/// after another caller's call completed is sent after that call: what a caller wrote, a later read sees.
/// </remarks>
internal sealed class RedisTagBatcher<TRequest, TReply>(
    RedisStoreConnection redis, int maxBatch, int callsInFlight, Func<string, TRequest[], Task<TReply[]>> send)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Partition> _partitions = new(StringComparer.Ordinal);

    /// <summary>
    /// Sends <paramref name="request"/> with whatever else of its tag is waiting and returns its own reply. Waits at most
    /// <see cref="RedisOptions.OperationTimeout"/>, logged under <paramref name="operation"/>.
    /// </summary>
    /// <exception cref="GrantStoreUnavailableException">Redis did not answer the call in time, or failed it.</exception>
    public Task<TReply> RunAsync(string operation, string tag, TRequest request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new Pending(request, cancellationToken);
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
            // Runs on this thread up to its first send: a request that finds a call free goes out at once.
            _ = DrainAsync(tag, partition);
        }

        return WaitAsync(operation, pending, cancellationToken);
    }

    /// <summary>The caller's wait, bounded; when it ends first, the request is marked abandoned (and left out if not sent).</summary>
    private async Task<TReply> WaitAsync(string operation, Pending pending, CancellationToken cancellationToken)
    {
        try
        {
            return await redis.BoundAsync(operation, pending.Task, cancellationToken);
        }
        catch when (!pending.Task.IsCompleted)
        {
            // Cancelled rather than left to fail later unobserved: a reply that comes after this is dropped.
            pending.TrySetCanceled(CancellationToken.None);
            throw;
        }
    }

    /// <summary>Sends the tag's waiting requests, a batch at a time, until none is left (one sender per call in flight).</summary>
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

    /// <summary>One call for <paramref name="batch"/>; completes every member, never throws.</summary>
    private async Task SendAsync(string tag, Pending[] batch)
    {
        List<Pending> members = new(batch.Length);
        foreach (var pending in batch)
        {
            if (pending.Task.IsCompleted || pending.CancellationToken.IsCancellationRequested)
            {
                // Abandoned by its caller (WaitAsync), or about to be.
                pending.TrySetCanceled(pending.CancellationToken);
            }
            else
            {
                members.Add(pending);
            }
        }

        if (members.Count == 0)
        {
            return;
        }

        var requests = new TRequest[members.Count];
        for (var i = 0; i < requests.Length; i++)
        {
            requests[i] = members[i].Request;
        }

        try
        {
            var replies = await send(tag, requests);
            if (replies.Length != members.Count)
            {
                throw new InvalidOperationException($"The store call answered {replies.Length} replies for {members.Count} requests.");
            }

            for (var i = 0; i < members.Count; i++)
            {
                members[i].TrySetResult(replies[i]);
            }
        }
        catch (Exception e)
        {
            // Fail closed, every member (no token of a batch that failed is returned). Each caller gets an exception of its own.
            foreach (var member in members)
            {
                member.TrySetException(e is GrantStoreUnavailableException ? new GrantStoreUnavailableException(e.Message, e) : e);
            }
        }
    }

    /// <summary>The requests of one tag waiting for a call, and how many senders have a call in flight or about to be.</summary>
    private sealed class Partition
    {
        public List<Pending> Queue { get; } = [];

        public int Senders { get; set; }
    }

    /// <summary>
    /// One caller's request and its reply. Continuations run asynchronously, so that completing a batch does not run its
    /// callers' requests on the thread that sends the next one.
    /// </summary>
    private sealed class Pending(TRequest request, CancellationToken cancellationToken)
        : TaskCompletionSource<TReply>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public TRequest Request { get; } = request;

        public CancellationToken CancellationToken { get; } = cancellationToken;
    }
}
