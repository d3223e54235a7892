using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// Listing grants from the tenant, subject and task indexes (a task's a sorted set scored by expiry, the tenant's buckets
/// per expiry, a subject's chunks of sorted sets), read a page at a time from a cursor (the last grant ID of the
/// previous page) with the <see cref="RedisGrantScripts.Page"/> script.
/// </summary>
internal sealed class RedisGrantListing(RedisStoreConnection redis, RedisGrantKeys keys, RedisGrantRecords records, TimeProvider timeProvider)
{
    /// <summary>See <see cref="IGrantStore.ListAsync"/>.</summary>
    public async ValueTask<GrantPage> ListAsync(GrantQuery query, string? cursor, int pageSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        GrantValidation.ForCount(pageSize, GrantQuery.MaxPageSize);
        var tag = GrantId.RoutingTag(query.Tenant);
        if (cursor is not null && (!GrantId.TryGetRoutingTag(cursor, out var cursorTag) || !string.Equals(cursorTag, tag, StringComparison.Ordinal)))
        {
            throw new ArgumentException("Not a cursor of this listing.", nameof(cursor));
        }

        // One more than asked tells whether there is a next page.
        var ids = await PageIdsAsync(tag, query, cursor, pageSize + 1, IndexSources.BucketsThenLegacyChunks, cancellationToken);
        var more = ids.Count > pageSize;
        if (more)
        {
            ids.RemoveAt(ids.Count - 1);
        }

        if (ids.Count == 0)
        {
            return new GrantPage([], null);
        }

        var grants = await records.ReadManyAsync(nameof(IGrantStore.ListAsync), tag, ids, cancellationToken);
        return new GrantPage([.. grants.OfType<GrantRecord>()], more ? ids[^1] : null);
    }

    /// <summary>
    /// The IDs of up to <paramref name="count"/> unexpired grants of an index after <paramref name="cursor"/>, in
    /// listing order. Revoked grants stay in their indexes, so a cursor stays valid while grants are revoked.
    /// </summary>
    /// <param name="tag">The tenant's routing tag.</param>
    /// <param name="query">Which index.</param>
    /// <param name="cursor">The last ID of the previous page, or null.</param>
    /// <param name="count">At most this many.</param>
    /// <param name="sources">
    /// Of a tenant's index, what to read: the buckets then the legacy chunks (a listing), or only one of them (a
    /// revocation walks each on its own). Ignored for a subject's index (chunks) and a task's.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<List<string>> PageIdsAsync(
        string tag, GrantQuery query, string? cursor, int count, IndexSources sources, CancellationToken cancellationToken)
    {
        // A task's index is one sorted set; the tenant's is buckets (RedisGrantKeys.IndexBucket) and the legacy chunks of
        // older replicas (RedisGrantKeys.LegacyTenantIndex); a subject's is chunks (RedisGrantKeys.IndexChunk).
        var index = keys.Index(query);
        RedisKey[] scriptKeys = query switch
        {
            { Subject: not null } or { TaskId: not null } => [index],
            _ => [index, keys.LegacyTenantIndex(tag, query.Tenant)],
        };
        var task = query.TaskId is not null;
        RedisValue[] args =
        [
            timeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
            count,
            cursor is null ? string.Empty : RedisGrantKeys.IndexMember(cursor),
            task ? string.Empty : keys.TagBase(tag),
            task ? string.Empty : keys.Grant(tag, tag + ".").ToString(),
            (query.Subject, sources) switch
            {
                (not null, _) => "c",
                (_, IndexSources.Buckets) => "b",
                (_, IndexSources.LegacyChunks) => "c",
                _ => "bc",
            },
        ];
        var reply = await redis.EvaluateAsync("ListIndex", RedisGrantScripts.Page, scriptKeys, args, cancellationToken);

        // Members are IDs without the routing tag, which every member of the index shares.
        return [.. ((RedisResult[])reply!).Select(r => string.Concat(tag, ".", (string)r!))];
    }
}

/// <summary>What <see cref="RedisGrantListing.PageIdsAsync"/> reads of a tenant's index.</summary>
internal enum IndexSources
{
    /// <summary>The buckets, then the legacy chunks of older replicas: the order of a listing.</summary>
    BucketsThenLegacyChunks,

    /// <summary>Only the buckets.</summary>
    Buckets,

    /// <summary>Only the legacy chunks (<see cref="RedisGrantKeys.LegacyTenantIndex"/>).</summary>
    LegacyChunks,
}
