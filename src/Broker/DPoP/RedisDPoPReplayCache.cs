using Broker.Grants.Redis;
using Broker.Jose.DPoP;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.DPoP;

/// <summary>
/// The DPoP replay cache every replica shares through Redis (RFC 9449 §11.1): one <c>SET key 1 NX PX lifetime</c> per
/// accepted proof, so a proof accepted by one replica is refused by all the others for as long as it could be accepted.
/// </summary>
/// <remarks>
/// Keys are <c>{prefix}dpop:j:{hash}</c>, the hash being the validator's fixed-length base64url SHA-256 of the key
/// thumbprint and <c>jti</c> (never the proof). No hash tag: each key is used alone, so they spread over a cluster's
/// slots. Fails closed like the grant store: an error or a wait beyond <see cref="RedisOptions.OperationTimeout"/>
/// refuses the proof (503) rather than accept one that may be a replay.
/// </remarks>
internal sealed class RedisDPoPReplayCache(IConnectionMultiplexer connection, IOptions<RedisOptions> options, ILogger<RedisDPoPReplayCache> logger) : IDPoPReplayCache
{
    private static readonly RedisValue Marker = 1;

    private readonly string _prefix = options.Value.KeyPrefix + "dpop:j:";
    private readonly TimeSpan _timeout = options.Value.OperationTimeout;

    /// <summary>The Redis key of a replay cache entry.</summary>
    public static RedisKey Key(string prefix, string key) => prefix + "dpop:j:" + key;

    public async ValueTask<bool> TryAddAsync(string key, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var task = connection.GetDatabase().StringSetAsync(_prefix + key, Marker, lifetime, When.NotExists);
        try
        {
            return await task.WaitAsync(_timeout, cancellationToken);
        }
        catch (TimeoutException e)
        {
            // RedisTimeoutException is a TimeoutException too. An abandoned call's later failure is observed here.
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            Log.ReplayCacheUnavailable(logger, nameof(TryAddAsync), e);
            throw new DPoPReplayCacheUnavailableException("dpop: the Redis replay cache did not answer in time.", e);
        }
        catch (RedisException e)
        {
            Log.ReplayCacheUnavailable(logger, nameof(TryAddAsync), e);
            throw new DPoPReplayCacheUnavailableException("dpop: the Redis replay cache is unavailable.", e);
        }
    }
}
