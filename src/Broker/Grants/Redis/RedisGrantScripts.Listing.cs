namespace Broker.Grants.Redis;

internal static partial class RedisGrantScripts
{
    /// <summary>
    /// One page of an index, latest expiry first, ties by member descending (ZRANGE REV order). KEYS: index (a task's
    /// sorted set, or the directory of a chunked index: <see cref="RedisGrantKeys.IndexChunk"/>). ARGV: now (Unix ms),
    /// how many, cursor member (the last ID of the previous page without its routing tag, or empty), and for a chunked
    /// index the tag's key base and the prefix of its record keys (<c>{p}{tag}:g:{tag}.</c>), empty for a task's.
    /// Returns the members of unexpired grants after the cursor.
    /// </summary>
    /// <remarks>
    /// In a chunked index the cursor's chunk is the one whose range holds its expiry, which its record gives (a record
    /// outlives its index entries); the chunks below follow, by their bounds, until the page is full.
    /// </remarks>
    public const string Page = ExpiryFunctions + ChunkFunctions + """
        local now, wanted, cursor, base = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
        local ids = {}
        -- Appends the unexpired members of a sorted set from a rank on; false once an expired one is met (everything
        -- after it in this order has expired too).
        local function take(set, start)
          local items = redis.call('ZRANGE', set, start, start + wanted - #ids - 1, 'REV', 'WITHSCORES')
          for i = 1, #items, 2 do
            if tonumber(items[i + 1]) <= now then
              return false
            end
            ids[#ids + 1] = items[i]
          end
          return true
        end
        if base == '' then
          local start = 0
          if cursor ~= '' then
            local rank = redis.call('ZREVRANK', KEYS[1], cursor)
            -- A member leaves an index only when trimmed as expired, and every member after it in this order
            -- expires no later: a vanished cursor means the listing is over.
            if not rank then
              return {}
            end
            start = rank + 1
          end
          take(KEYS[1], start)
          return ids
        end
        local chunk, start
        if cursor ~= '' then
          local document = redis.call('GET', ARGV[5] .. cursor)
          if not document then
            return {}
          end
          local expiry = expiryOf(cmsgpack.unpack(document)[1], now)
          chunk = redis.call('ZREVRANGEBYSCORE', KEYS[1], expiry, 0, 'WITHSCORES', 'LIMIT', 0, 1)
          if #chunk == 0 then
            return {}
          end
          local rank = redis.call('ZREVRANK', chunkOf(KEYS[1], base, chunk[1]), cursor)
          if not rank then
            return {}
          end
          start = rank + 1
        else
          chunk = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', 0, 'WITHSCORES', 'LIMIT', 0, 1)
          start = 0
        end
        while #chunk > 0 and take(chunkOf(KEYS[1], base, chunk[1]), start) and #ids < wanted do
          chunk = redis.call('ZREVRANGEBYSCORE', KEYS[1], '(' .. chunk[2], 0, 'WITHSCORES', 'LIMIT', 0, 1)
          start = 0
        end
        return ids
        """;

}
