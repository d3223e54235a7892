using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// Listing grants from the tenant, subject and task indexes: sorted sets scored by expiry (the tenant's and a subject's
/// in chunks), read a page at a time from a cursor (the last grant ID of the previous page) with the <see cref="RedisGrantScripts.Page"/> script.
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
        var ids = await PageIdsAsync(tag, query, cursor, pageSize + 1, cancellationToken);
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
    public async Task<List<string>> PageIdsAsync(string tag, GrantQuery query, string? cursor, int count, CancellationToken cancellationToken)
    {
        // A task's index is one sorted set; the tenant's and a subject's are chunked (RedisGrantKeys.IndexChunk).
        var chunked = query.TaskId is null;
        RedisValue[] args =
        [
            timeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
            count,
            cursor is null ? string.Empty : RedisGrantKeys.IndexMember(cursor),
            chunked ? keys.TagBase(tag) : string.Empty,
            chunked ? keys.Grant(tag, tag + ".").ToString() : string.Empty,
        ];
        var reply = await redis.EvaluateAsync("ListIndex", RedisGrantScripts.Page, [keys.Index(query)], args, cancellationToken);

        // Members are IDs without the routing tag, which every member of the index shares.
        return [.. ((RedisResult[])reply!).Select(r => string.Concat(tag, ".", (string)r!))];
    }
}
