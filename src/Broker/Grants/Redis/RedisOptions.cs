using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// The Redis connection, bound from <c>Broker:Redis</c>. Defaults: <see cref="Configuration"/> empty (the embedded
/// in-memory grant store is used), <see cref="KeyPrefix"/> <c>broker:</c>, <see cref="OperationTimeout"/> 2 seconds,
/// <see cref="ConnectTimeout"/> 5 seconds, <see cref="AssumeNoEviction"/> false, <see cref="WaitForReplicas"/> 0 (off),
/// <see cref="WaitForReplicasTimeout"/> 500 ms, <see cref="MaxRecordBatch"/> 32, <see cref="RecordCallsInFlight"/> 1.
/// </summary>
internal sealed class RedisOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Broker:Redis";

    /// <summary>
    /// A StackExchange.Redis configuration string (<c>host:port,password=…,ssl=true</c>; several endpoints for a
    /// cluster; <c>serviceName=…</c> for Sentinel). Empty: no Redis, grants are kept in process memory.
    /// Holds a secret: it is never logged as is.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// Prepended to every key and channel name (default <c>broker:</c>), so several deployments or test runs can
    /// share one Redis. No braces: they would change Redis Cluster hash slots.
    /// </summary>
    public string KeyPrefix { get; set; } = "broker:";

    /// <summary>
    /// The longest any single store call waits for Redis (default 2 seconds). When it passes, the call fails with
    /// <see cref="GrantStoreUnavailableException"/>: the broker fails closed rather than wait.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long to wait for a connection to be established (default 5 seconds).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Declares that every Redis server runs with <c>maxmemory-policy noeviction</c> when the broker cannot read it
    /// (default false). The broker reads the policy (<c>INFO memory</c>) at start and in <c>/readyz</c>; managed
    /// services that withhold it leave the check "unknown" with a warning until this is set. A policy that can be
    /// read and is not <c>noeviction</c> fails the check whatever this says.
    /// </summary>
    public bool AssumeNoEviction { get; set; }

    /// <summary>
    /// How many replicas must acknowledge a recorded grant or a revocation before it counts as done (Redis
    /// <c>WAIT</c>; default 0: off, replication stays asynchronous). When fewer acknowledge within
    /// <see cref="WaitForReplicasTimeout"/>, the exchange returns no token (503) and the revocation reports an error.
    /// </summary>
    public int WaitForReplicas { get; set; }

    /// <summary>
    /// How long <see cref="WaitForReplicas"/> waits for the acknowledgements (default 500 ms); less than
    /// <see cref="OperationTimeout"/>. WAIT holds the shared connection to that primary while it waits.
    /// </summary>
    public TimeSpan WaitForReplicasTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Most grants recorded in one script call (group commit; default 32, 1 to 256; 1: each grant in a call of its
    /// own). The grants of one routing tag that arrive while the previous call for that tag is in flight go together
    /// in the next one, each with its own outcome, and no token is returned before Redis acknowledged its grant.
    /// Larger batches save Redis work per grant but hold Redis (one script) a little longer.
    /// </summary>
    public int MaxRecordBatch { get; set; } = 32;

    /// <summary>
    /// Most record calls of one routing tag in flight at once (default 1, 1 to 8). With 1 a grant that arrives while a
    /// call is in flight waits for it and goes in the next batch; with more, Redis gets the next batch while it still
    /// runs the previous one (no idle round trip between batches), at the price of smaller batches.
    /// </summary>
    public int RecordCallsInFlight { get; set; } = 1;
}

/// <summary>Rejects a Redis configuration that cannot work, before the first request finds out.</summary>
internal sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        List<string> errors = [];
        if (!string.IsNullOrWhiteSpace(options.Configuration))
        {
            try
            {
                if (ConfigurationOptions.Parse(options.Configuration).EndPoints.Count == 0)
                {
                    errors.Add($"{RedisOptions.SectionName}:Configuration names no Redis endpoint (host:port).");
                }
            }
            catch (ArgumentException)
            {
                // Never echo the exception: its message may quote the configuration, password included.
                errors.Add($"{RedisOptions.SectionName}:Configuration is not a valid Redis configuration string.");
            }
        }

        if (options.KeyPrefix is null || options.KeyPrefix.Length > 64 || options.KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            errors.Add($"{RedisOptions.SectionName}:KeyPrefix must be at most 64 characters without braces.");
        }

        if (options.OperationTimeout < TimeSpan.FromMilliseconds(50) || options.OperationTimeout > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{RedisOptions.SectionName}:OperationTimeout must be between 50 ms and 1 minute.");
        }

        if (options.ConnectTimeout < TimeSpan.FromMilliseconds(100) || options.ConnectTimeout > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{RedisOptions.SectionName}:ConnectTimeout must be between 100 ms and 1 minute.");
        }

        if (options.WaitForReplicas is < 0 or > 16)
        {
            errors.Add($"{RedisOptions.SectionName}:WaitForReplicas must be between 0 and 16.");
        }

        // WAIT blocks until the timeout when replicas lag (0 would mean forever); past OperationTimeout the call
        // would be abandoned anyway.
        if (options.WaitForReplicas > 0
            && (options.WaitForReplicasTimeout < TimeSpan.FromMilliseconds(1) || options.WaitForReplicasTimeout >= options.OperationTimeout))
        {
            errors.Add($"{RedisOptions.SectionName}:WaitForReplicasTimeout must be at least 1 ms and less than OperationTimeout.");
        }

        if (options.MaxRecordBatch is < 1 or > 256)
        {
            errors.Add($"{RedisOptions.SectionName}:MaxRecordBatch must be between 1 and 256.");
        }

        if (options.RecordCallsInFlight is < 1 or > 8)
        {
            errors.Add($"{RedisOptions.SectionName}:RecordCallsInFlight must be between 1 and 8.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
