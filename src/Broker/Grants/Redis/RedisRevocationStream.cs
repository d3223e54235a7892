using System.Text.Json;
using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// The revocation stream of each routing tag (what the feed replays, from a <see cref="StreamPosition"/>) and the
/// live announcements on the pub/sub channel (what wakes the feed up). The revoke script writes both.
/// </summary>
internal sealed class RedisRevocationStream(RedisStoreConnection redis, RedisGrantKeys keys, ILogger logger) : IAsyncDisposable
{
    private const int MaxReadRounds = 10;

    private readonly RevocationBroadcaster _broadcaster = new();
    private readonly SemaphoreSlim _subscribeLock = new(1, 1);
    private bool _subscribed;

    /// <summary>See <see cref="IGrantStore.ReadRevocationsAsync"/>.</summary>
    public async ValueTask<RevocationPage> ReadAsync(string tenant, StreamPosition? afterPosition, int count, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        GrantValidation.ForCount(count);

        // The stream is shared by the tenants of one routing tag; entries of other tenants are skipped, and the
        // position still advances past them so a reader never rereads them.
        var key = keys.RevocationStream(GrantId.RoutingTag(tenant));
        List<RevocationEntry> entries = [];
        var position = afterPosition;
        var lost = false;
        for (var round = 0; round < MaxReadRounds && entries.Count < count; round++)
        {
            var wanted = count - entries.Count;
            var min = position is null ? "-" : "(" + position;

            // Nothing follows the largest ID, and Redis refuses an exclusive range that starts there.
            var read = position == StreamPosition.MaxValue
                ? Task.FromResult(Array.Empty<StreamEntry>())
                : redis.RunAsync(nameof(IGrantStore.ReadRevocationsAsync), db => db.StreamRangeAsync(key, min, "+", wanted), cancellationToken);
            if (round == 0 && afterPosition is { } after)
            {
                // Asked after the read on the same connection, so Redis answers it after the XRANGE: a trim in
                // between can only make the answer more cautious, never hide a loss.
                lost = await HistoryLostAsync(key, after, cancellationToken);
            }

            var entriesRead = await read;
            foreach (var entry in entriesRead)
            {
                var id = StreamPosition.Parse(entry.Id!);
                position = id;
                if (string.Equals(entry["t"].ToString(), tenant, StringComparison.Ordinal))
                {
                    var expiry = entry["e"];
                    if (entry["w"] is { IsNull: false } capability)
                    {
                        // A capability withdrawn from the catalog (RedisCatalogScripts.Write).
                        entries.Add(RevocationEntry.Withdrawn(
                            id, tenant, new CapabilityWithdrawal(capability.ToString(), entry["r"].ToString()),
                            DateTimeOffset.FromUnixTimeMilliseconds((long)entry["at"]), DateTimeOffset.FromUnixTimeMilliseconds((long)expiry)));
                        continue;
                    }

                    entries.Add(new RevocationEntry(
                        id, entry["g"].ToString(), tenant, DateTimeOffset.FromUnixTimeMilliseconds((long)entry["at"]))
                    {
                        ExpiresAt = expiry.IsNull
                            ? throw new InvalidOperationException("A stored revocation entry is malformed.")
                            : DateTimeOffset.FromUnixTimeMilliseconds((long)expiry),
                    });
                }
            }

            if (entriesRead.Length < wanted)
            {
                // The end of the stream.
                break;
            }
        }

        return new RevocationPage(entries, position, lost);
    }

    /// <summary>See <see cref="IGrantStore.GetRevocationPositionAsync"/>: the stream's last generated ID, or <c>0-0</c>.</summary>
    public async ValueTask<StreamPosition> GetPositionAsync(string tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var key = keys.RevocationStream(GrantId.RoutingTag(tenant));
        var position = await redis.EvaluateAsync(nameof(IGrantStore.GetRevocationPositionAsync), RedisGrantScripts.NewestPosition, [key], null, cancellationToken);
        return (string?)position is { } newest ? StreamPosition.Parse(newest) : StreamPosition.Start;
    }

    /// <summary>See <see cref="IGrantStore.SubscribeRevocationsAsync"/>.</summary>
    public async ValueTask<RevocationSubscription> SubscribeAsync(CancellationToken cancellationToken)
    {
        await _subscribeLock.WaitAsync(cancellationToken);
        try
        {
            if (!_subscribed)
            {
                // One channel subscription per store, fanned out locally: the multiplexer keeps it alive and
                // resubscribes after a reconnect. Announcements published while disconnected are lost (pub/sub is
                // at-most-once); readers recover them from the revocation stream.
                var subscriber = redis.Multiplexer.GetSubscriber();
                await redis.BoundAsync(nameof(IGrantStore.SubscribeRevocationsAsync), subscriber.SubscribeAsync(keys.RevocationChannel, OnNotice), cancellationToken);
                _subscribed = true;
                Log.RevocationChannelSubscribed(logger, keys.RevocationChannel.ToString());
            }

            return _broadcaster.Add(static _ => ValueTask.CompletedTask);
        }
        finally
        {
            _subscribeLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_subscribed)
        {
            try
            {
                await redis.Multiplexer.GetSubscriber().UnsubscribeAsync(keys.RevocationChannel, OnNotice).WaitAsync(redis.Timeout);
            }
            catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
            {
                // Shutting down: the connection going away ends the subscription anyway.
            }
        }

        _subscribeLock.Dispose();
    }

    /// <summary>
    /// Whether entries after <paramref name="afterPosition"/> may be gone (see <see cref="RedisGrantScripts.HistoryLost"/>):
    /// trimmed, or lost with the data. Exact where it can be, cautious where it cannot (a position trimmed right
    /// before the first retained entry still reads as a loss).
    /// </summary>
    private async Task<bool> HistoryLostAsync(RedisKey key, StreamPosition afterPosition, CancellationToken cancellationToken)
    {
        var lost = await redis.EvaluateAsync(nameof(IGrantStore.ReadRevocationsAsync), RedisGrantScripts.HistoryLost, [key], [afterPosition.ToString()], cancellationToken);
        return (int)lost != 0;
    }

    private void OnNotice(RedisChannel channel, RedisValue message)
    {
        try
        {
            var notice = JsonSerializer.Deserialize((string)message!, GrantsJsonContext.Compact.RevocationNotice);
            if (notice is { Withdrawn: { Length: > 0 } capability, ExpiresAt: { } keepUntil } && StreamPosition.TryParse(notice.Position, out var at))
            {
                _broadcaster.Publish(RevocationEntry.Withdrawn(
                    at, notice.Tenant, new CapabilityWithdrawal(capability, notice.Resource ?? ""),
                    DateTimeOffset.FromUnixTimeMilliseconds(notice.RevokedAt), DateTimeOffset.FromUnixTimeMilliseconds(keepUntil)));
                return;
            }

            if (notice is null || !StreamPosition.TryParse(notice.Position, out var position) || !GrantId.IsWellFormed(notice.GrantId)
                || notice.ExpiresAt is not { } expiry)
            {
                Log.RevocationNoticeMalformed(logger, null);
                return;
            }

            _broadcaster.Publish(new RevocationEntry(
                position, notice.GrantId, notice.Tenant, DateTimeOffset.FromUnixTimeMilliseconds(notice.RevokedAt))
            {
                ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(expiry),
            });
        }
        catch (JsonException e)
        {
            Log.RevocationNoticeMalformed(logger, e);
        }
    }
}
