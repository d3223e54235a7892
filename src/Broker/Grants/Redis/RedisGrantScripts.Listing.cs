namespace Broker.Grants.Redis;

internal static partial class RedisGrantScripts
{
    /// <summary>
    /// One page of an index. KEYS: the index (a task's sorted set, the directory of a tenant's buckets:
    /// <see cref="RedisGrantKeys.IndexBucket"/>, or the directory of a subject's chunks:
    /// <see cref="RedisGrantKeys.IndexChunk"/>), and for a tenant's also the directory of its legacy chunks
    /// (<see cref="RedisGrantKeys.LegacyTenantIndex"/>); the chunks read are those of the last key. ARGV: now (Unix ms),
    /// how many, cursor member (the last ID of the previous page without its routing tag, or empty), and for a tenant's
    /// or subject's index the tag's key base, the prefix of its record keys (<c>{p}{tag}:g:{tag}.</c>) and what to read:
    /// <c>b</c> the buckets, <c>c</c> the chunks (a subject's index; a tenant's legacy chunks), <c>bc</c> the buckets
    /// then the legacy chunks. Returns the members of unexpired grants after the cursor.
    /// </summary>
    /// <remarks>
    /// A task's index and a subject's chunks: latest expiry first, ties by member descending (ZRANGE REV order); a cursor
    /// in chunks is found in the chunk of its record's expiry. Buckets: latest expiry first,
    /// within a bucket (one expiry) latest appended first; a bucket is read backwards with GETRANGE, only as much as the
    /// page still wants. The cursor's bucket is the one of its grant's expiry, which its record gives (a record outlives
    /// its index entries); the cursor is found in it by a plain search aligned to the 22-byte members. A tenant's legacy
    /// chunks (what replicas before the tenant's buckets wrote; read only, see
    /// <see cref="RedisGrantKeys.LegacyTenantIndex"/>) come after every bucket, in their own order (latest expiry first, ties by member descending), so a listing during a rolling
    /// upgrade is two stretches in expiry order; a cursor in a chunk is found by its expiry as in a bucket.
    /// </remarks>
    public static readonly RedisScript Page = new(PageText);

    private const string PageText = ExpiryFunctions + BucketFunctions + ChunkFunctions + """
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
        local sources, expiry = ARGV[6], nil
        if cursor ~= '' then
          -- A cursor whose record is gone has expired, with everything after it.
          local document = redis.call('GET', ARGV[5] .. cursor)
          if not document then
            return {}
          end
          expiry = expiryOf(cmsgpack.unpack(document)[1], now)
        end
        -- Appends members 1 to count of a bucket's string (or of its tail), latest first, as many as the page wants.
        local function takeString(members, count)
          for i = count, math.max(1, count - (wanted - #ids) + 1), -1 do
            ids[#ids + 1] = string.sub(members, i * 22 - 21, i * 22)
          end
        end
        -- Appends the unexpired buckets' members below a bound of the directory's scores: the directory names as many
        -- buckets as the page still wants members (each holds one at least), and of each only the tail the page wants
        -- is read.
        local function takeBuckets(upper)
          while #ids < wanted do
            local names = redis.call('ZREVRANGEBYSCORE', KEYS[1], upper, '(' .. ARGV[1], 'LIMIT', 0, wanted - #ids)
            for _, name in ipairs(names) do
              if #ids >= wanted then
                return
              end
              local tail = redis.call('GETRANGE', bucketOf(KEYS[1], base, name), -22 * (wanted - #ids), -1)
              takeString(tail, math.floor(#tail / 22))
            end
            if #names == 0 then
              return
            end
            upper = '(' .. names[#names]
          end
        end
        -- A chunked index (the last key: a subject's, or a tenant's legacy one, read only until the last grant an older
        -- replica recorded expires), from the top or after a cursor of a given expiry; false when the cursor is not in it.
        local function takeChunks(after, at)
          local directory, chunk, start = KEYS[#KEYS], nil, 0
          if after then
            chunk = redis.call('ZREVRANGEBYSCORE', directory, at, 0, 'WITHSCORES', 'LIMIT', 0, 1)
            local rank = #chunk > 0 and redis.call('ZREVRANK', chunkOf(directory, base, chunk[1]), after)
            if not rank then
              return false
            end
            start = rank + 1
          else
            chunk = redis.call('ZREVRANGEBYSCORE', directory, '+inf', 0, 'WITHSCORES', 'LIMIT', 0, 1)
          end
          while #chunk > 0 and take(chunkOf(directory, base, chunk[1]), start) and #ids < wanted do
            chunk = redis.call('ZREVRANGEBYSCORE', directory, '(' .. chunk[2], 0, 'WITHSCORES', 'LIMIT', 0, 1)
            start = 0
          end
          return true
        end
        local inChunks = sources == 'c'
        if sources ~= 'c' then
          if not expiry then
            takeBuckets('+inf')
          else
            -- The cursor's place in the bucket of its expiry: a plain search, kept only where a member starts.
            local name = string.format('%d', expiry)
            local members = redis.call('GET', bucketOf(KEYS[1], base, name))
            local at = members and string.find(members, cursor, 1, true)
            while at and (at - 1) % 22 ~= 0 do
              at = string.find(members, cursor, at + 1, true)
            end
            if at then
              if expiry > now then
                takeString(members, (at - 1) / 22)
                takeBuckets('(' .. name)
              end
            elseif sources == 'bc' then
              inChunks = true
            else
              -- Not in this index (another's grant), or trimmed: the listing is over.
              return ids
            end
          end
          if #ids >= wanted or sources == 'b' then
            return ids
          end
        end
        if inChunks and expiry then
          takeChunks(cursor, expiry)
        else
          takeChunks(nil, nil)
        end
        return ids
        """;

}
