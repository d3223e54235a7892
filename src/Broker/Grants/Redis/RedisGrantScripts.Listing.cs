namespace Broker.Grants.Redis;

internal static partial class RedisGrantScripts
{
    /// <summary>
    /// One page of an index, latest expiry first, ties by member descending (ZRANGE REV order). KEYS: index.
    /// ARGV: now (Unix ms), how many, cursor member (the last ID of the previous page without its routing tag, or
    /// empty). Returns the members of unexpired grants after the cursor.
    /// </summary>
    public const string Page = """
        local start = 0
        if ARGV[3] ~= '' then
          local rank = redis.call('ZREVRANK', KEYS[1], ARGV[3])
          -- A member leaves an index only when trimmed as expired, and every member after it in this order
          -- expires no later: a vanished cursor means the listing is over.
          if not rank then
            return {}
          end
          start = rank + 1
        end
        local now = tonumber(ARGV[1])
        local items = redis.call('ZRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1, 'REV', 'WITHSCORES')
        local ids = {}
        for i = 1, #items, 2 do
          if tonumber(items[i + 1]) <= now then
            break
          end
          ids[#ids + 1] = items[i]
        end
        return ids
        """;

}
