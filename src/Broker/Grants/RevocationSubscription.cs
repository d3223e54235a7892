using System.Threading.Channels;

namespace Broker.Grants;

/// <summary>
/// A live feed of revocations made by any replica sharing the store. Delivery is a best-effort wake-up
/// (Redis pub/sub is at-most-once, and a slow reader loses the oldest notifications): readers that must miss
/// nothing use the notification's position to read the revocation stream.
/// </summary>
internal sealed class RevocationSubscription : IAsyncDisposable
{
    private readonly Func<RevocationSubscription, ValueTask> _unsubscribe;
    private int _disposed;

    internal RevocationSubscription(Func<RevocationSubscription, ValueTask> unsubscribe)
    {
        _unsubscribe = unsubscribe;

        // Bounded so an idle reader cannot grow memory without limit; the stream is the record, this is a hint.
        Channel = System.Threading.Channels.Channel.CreateBounded<RevocationEntry>(new BoundedChannelOptions(1024)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = false,
            SingleWriter = false,
        });
    }

    /// <summary>Revocations, as they are announced.</summary>
    public ChannelReader<RevocationEntry> Reader => Channel.Reader;

    internal Channel<RevocationEntry> Channel { get; }

    /// <summary>Stops the feed and completes <see cref="Reader"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Channel.Writer.TryComplete();
            await _unsubscribe(this);
        }
    }
}
