using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// Makes the process's one Redis connection from <see cref="RedisOptions"/>: bounded waits, and no abort when Redis
/// is down at start. One multiplexer per process is shared by every feature that uses Redis (it is thread-safe and
/// pipelines the commands of all callers).
/// </summary>
internal static class RedisConnectionFactory
{
    /// <summary>The StackExchange.Redis settings for <paramref name="options"/>.</summary>
    public static ConfigurationOptions CreateConfiguration(RedisOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var configuration = ConfigurationOptions.Parse(options.Configuration ?? string.Empty);

        // Start even when Redis is down (readiness reports it; calls fail closed) and keep reconnecting.
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds;

        // The library's own limits match ours, so a queued command is failed by the library, not left running.
        configuration.AsyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        configuration.SyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        configuration.ClientName ??= "broker";
        return configuration;
    }

    /// <summary>Connects (without waiting for Redis to be up) and logs where, without the password.</summary>
    public static IConnectionMultiplexer Connect(RedisOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var configuration = CreateConfiguration(options);
        Log.RedisGrantStoreSelected(logger, new RedisConfigurationLogValue(configuration), options.KeyPrefix);
        return ConnectionMultiplexer.Connect(configuration);
    }
}
