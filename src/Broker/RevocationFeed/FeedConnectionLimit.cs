using Microsoft.Extensions.Options;

namespace Broker.RevocationFeed;

/// <summary>
/// Counts the open feed connections of this replica: each holds a subscription and a socket for up to
/// <see cref="RevocationFeedOptions.FeedMaxConnectionLifetime"/>, so their number is bounded like any input.
/// </summary>
internal sealed class FeedConnectionLimit(IOptions<RevocationFeedOptions> options)
{
    private int _open;

    /// <summary>The connections open now.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>The configured bound.</summary>
    public int Limit => options.Value.FeedMaxConnections;

    /// <summary>Takes a slot, or returns false when every slot is taken; a taken slot must be released once.</summary>
    public bool TryAcquire()
    {
        if (Interlocked.Increment(ref _open) <= Limit)
        {
            return true;
        }

        Interlocked.Decrement(ref _open);
        return false;
    }

    public void Release() => Interlocked.Decrement(ref _open);
}
