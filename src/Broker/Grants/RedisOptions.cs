using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Grants;

/// <summary>
/// The Redis connection, bound from <c>Broker:Redis</c>. Defaults: <see cref="Configuration"/> empty (the embedded
/// in-memory grant store is used), <see cref="KeyPrefix"/> <c>broker:</c>, <see cref="OperationTimeout"/> 2 seconds,
/// <see cref="ConnectTimeout"/> 5 seconds.
/// </summary>
public sealed class RedisOptions
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

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
