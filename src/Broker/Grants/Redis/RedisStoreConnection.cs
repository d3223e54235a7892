using System.Globalization;
using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// How the grant store calls Redis over the shared <see cref="IConnectionMultiplexer"/>: every call waits at most
/// <see cref="RedisOptions.OperationTimeout"/>, and every Redis failure or timeout surfaces as
/// <see cref="GrantStoreUnavailableException"/>, never as a Redis exception, so that callers fail closed on one type.
/// With <see cref="RedisOptions.WaitForReplicas"/> set, writes are confirmed by replicas (<see cref="WaitForReplicasAsync"/>).
/// </summary>
internal sealed class RedisStoreConnection
{
    private readonly int _waitForReplicas;
    private readonly long _waitForReplicasTimeoutMs;
    private readonly ILogger _logger;

    public RedisStoreConnection(IConnectionMultiplexer multiplexer, RedisOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        Multiplexer = multiplexer;
        Timeout = options.OperationTimeout;
        _waitForReplicas = options.WaitForReplicas;
        _waitForReplicasTimeoutMs = (long)options.WaitForReplicasTimeout.TotalMilliseconds;
        _logger = logger;
    }

    /// <summary>The shared connection, for what is not a database call (servers, pub/sub).</summary>
    public IConnectionMultiplexer Multiplexer { get; }

    /// <summary>The longest a call waits (<see cref="RedisOptions.OperationTimeout"/>).</summary>
    public TimeSpan Timeout { get; }

    /// <summary>
    /// The <c>MINID</c> of an <c>XTRIM</c> that drops entries older than <paramref name="retention"/>: a Unix time in
    /// milliseconds, which Redis reads as the stream ID <c>&lt;ms&gt;-0</c> (the scripts compare it as a number).
    /// </summary>
    public static string MinId(DateTimeOffset now, TimeSpan retention)
        => (now - retention).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>Runs a script, bounded as <see cref="RunAsync"/>.</summary>
    public Task<RedisResult> EvaluateAsync(string operation, RedisScript script, RedisKey[] keys, RedisValue[]? values, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(script);
        return RunAsync(operation, db => script.EvaluateAsync(db, keys, values), cancellationToken);
    }

    /// <summary>Sends one database call and waits for it at most the operation timeout.</summary>
    /// <param name="operation">The store operation, for the logs.</param>
    /// <param name="call">The call, given the database.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task<T> RunAsync<T>(string operation, Func<IDatabaseAsync, Task<T>> call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        cancellationToken.ThrowIfCancellationRequested();
        Task<T> task;
        try
        {
            task = call(Multiplexer.GetDatabase());
        }
        catch (RedisException e)
        {
            Log.GrantStoreUnavailable(_logger, operation, e);
            throw new GrantStoreUnavailableException("The grant store is unavailable.", e);
        }

        return BoundAsync(operation, task, cancellationToken);
    }

    /// <summary>Waits for <paramref name="task"/> as <see cref="BoundAsync(string, Task, CancellationToken)"/> does, then returns its result.</summary>
    public async Task<T> BoundAsync<T>(string operation, Task<T> task, CancellationToken cancellationToken)
    {
        await BoundAsync(operation, (Task)task, cancellationToken);
        return await task;
    }

    /// <summary>
    /// Waits for <paramref name="task"/> at most the operation timeout, turning every Redis failure into
    /// <see cref="GrantStoreUnavailableException"/>. The timeout is real time, not the store's TimeProvider:
    /// it bounds how long a caller actually waits.
    /// </summary>
    public async Task BoundAsync(string operation, Task task, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        try
        {
            await task.WaitAsync(Timeout, cancellationToken);
        }
        catch (TimeoutException e)
        {
            // RedisTimeoutException is a TimeoutException too. An abandoned task's later failure is observed here
            // so it does not surface as an unobserved task exception.
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            Log.GrantStoreTimedOut(_logger, operation, Timeout.TotalMilliseconds, e);
            throw new GrantStoreUnavailableException("The grant store did not answer in time.", e);
        }
        catch (RedisException e)
        {
            Log.GrantStoreUnavailable(_logger, operation, e);
            throw new GrantStoreUnavailableException("The grant store is unavailable.", e);
        }
    }

    /// <summary>
    /// With <see cref="RedisOptions.WaitForReplicas"/> set, waits (Redis <c>WAIT</c>) until that many replicas of the
    /// primary serving <paramref name="slotKey"/> have every write this connection made so far, and fails closed when
    /// fewer acknowledge within <see cref="RedisOptions.WaitForReplicasTimeout"/>. WAIT covers the writes of the
    /// connection it is sent on, so it goes to the server of the key's slot, over the connection the script just used.
    /// </summary>
    public async Task WaitForReplicasAsync(RedisKey slotKey, string operation, CancellationToken cancellationToken)
    {
        if (_waitForReplicas == 0)
        {
            return;
        }

        long acknowledged;
        try
        {
            var server = Multiplexer.GetServer(slotKey);
            acknowledged = (long)await BoundAsync(operation, server.ExecuteAsync("WAIT", _waitForReplicas, _waitForReplicasTimeoutMs), cancellationToken);
        }
        catch (RedisException e)
        {
            Log.GrantStoreUnavailable(_logger, operation, e);
            throw new GrantStoreUnavailableException("The grant store is unavailable.", e);
        }

        if (acknowledged < _waitForReplicas)
        {
            // The write stands on the primary but may not survive a failover: report it as not done. A grant's token
            // is then never returned (the orphan record expires with its TTL); a revocation is retried by its caller.
            Log.ReplicasDidNotAcknowledge(_logger, operation, acknowledged, _waitForReplicas);
            throw new GrantStoreUnavailableException("Too few Redis replicas acknowledged the write.");
        }
    }
}
