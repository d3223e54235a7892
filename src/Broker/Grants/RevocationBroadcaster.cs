namespace Broker.Grants;

/// <summary>Fans revocation notifications out to every live <see cref="RevocationSubscription"/> of one store.</summary>
internal sealed class RevocationBroadcaster
{
    private readonly Lock _lock = new();
    private RevocationSubscription[] _subscriptions = [];

    public int Count => Volatile.Read(ref _subscriptions).Length;

    public RevocationSubscription Add(Func<RevocationSubscription, ValueTask> onRemoved)
    {
        var subscription = new RevocationSubscription(async s =>
        {
            Remove(s);
            await onRemoved(s);
        });
        lock (_lock)
        {
            _subscriptions = [.. _subscriptions, subscription];
        }

        return subscription;
    }

    public void Publish(RevocationEntry entry)
    {
        foreach (var subscription in Volatile.Read(ref _subscriptions))
        {
            subscription.Channel.Writer.TryWrite(entry);
        }
    }

    private void Remove(RevocationSubscription subscription)
    {
        lock (_lock)
        {
            _subscriptions = [.. _subscriptions.Where(s => !ReferenceEquals(s, subscription))];
        }
    }
}
