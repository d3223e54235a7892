using System.Security.Cryptography;
using Broker.Grants.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.DPoP;

/// <summary>
/// Where the HMAC key of the server nonces comes from (RFC 9449 §8): every replica that accepts a nonce must hold the
/// key that made it. Asked once per process, when the first nonce is needed, until it answers.
/// </summary>
internal interface IDPoPNonceKeySource
{
    /// <summary>What the key comes from, for the log: never the key.</summary>
    string Description { get; }

    /// <summary>The key, or null when it cannot be had right now (the proof is then refused with 503).</summary>
    ValueTask<byte[]?> GetKeyAsync(CancellationToken cancellationToken);
}

/// <summary>A key file the operator gives every replica (<see cref="DPoPOptions.NonceKeyFile"/>).</summary>
internal sealed class FileDPoPNonceKeySource(string path) : IDPoPNonceKeySource
{
    public string Description => "the file " + path;

    public async ValueTask<byte[]?> GetKeyAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await File.ReadAllBytesAsync(path, cancellationToken);
        }
        catch (IOException)
        {
            // Checked at start (DPoPOptionsValidator); gone since: refuse proofs until it is back.
            return null;
        }
    }
}

/// <summary>A key of this process alone: the embedded store runs one replica, whose nonces nothing else checks.</summary>
internal sealed class ProcessDPoPNonceKeySource : IDPoPNonceKeySource
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public string Description => "this process (random)";

    public ValueTask<byte[]?> GetKeyAsync(CancellationToken cancellationToken) => ValueTask.FromResult<byte[]?>(_key);
}

/// <summary>
/// A key shared through Redis at <c>{prefix}dpop:nonce-key</c>: the first replica that needs it stores 32 random bytes
/// with <c>SET NX</c>, so every replica ends up with the one that won, and reads it back. It never expires (Redis runs
/// without eviction, which the grant store requires anyway); delete it and restart the replicas to rotate it. Whoever
/// can read Redis can forge nonces, but could also write grants: the key adds no new trust in Redis.
/// </summary>
internal sealed class RedisDPoPNonceKeySource(IConnectionMultiplexer connection, IOptions<RedisOptions> options, ILogger<RedisDPoPNonceKeySource> logger) : IDPoPNonceKeySource
{
    private readonly string _key = options.Value.KeyPrefix + "dpop:nonce-key";
    private readonly TimeSpan _timeout = options.Value.OperationTimeout;

    public string Description => $"Redis ({_key})";

    public async ValueTask<byte[]?> GetKeyAsync(CancellationToken cancellationToken)
    {
        try
        {
            var database = connection.GetDatabase();
            await database.StringSetAsync(_key, RandomNumberGenerator.GetBytes(32), when: When.NotExists).WaitAsync(_timeout, cancellationToken);
            byte[]? key = await database.StringGetAsync(_key).WaitAsync(_timeout, cancellationToken);
            return key is { Length: >= Jose.DPoP.DPoPNonceOptions.MinimumKeyLength } ? key : null;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.NonceKeyUnavailable(logger, e);
            return null;
        }
    }
}
