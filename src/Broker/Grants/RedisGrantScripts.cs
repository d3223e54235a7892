namespace Broker.Grants;

/// <summary>
/// The Lua scripts of the Redis grant store. A script runs atomically: no other command runs between its first
/// and last call (EVAL semantics), and replicas and the AOF receive its effects as one MULTI/EXEC. That is what
/// makes "record a grant and its audit event" and "revoke, append to the stream, announce" single steps.
/// Every key a script touches is passed in KEYS and shares one hash tag, so each script runs on one Redis Cluster
/// slot. Times come from the caller's <see cref="TimeProvider"/>, not from Redis TIME, so scripts stay
/// deterministic. StackExchange.Redis sends EVALSHA once the script is cached and falls back to EVAL on NOSCRIPT.
/// </summary>
internal static class RedisGrantScripts
{
    /// <summary>
    /// Records a grant. KEYS: grant, tenant index, subject index, task index, audit stream, the string dictionary of
    /// the grant's expiry (<see cref="RedisGrantRecordFormat.DictionaryNumber"/>). ARGV: record TTL ms, expiry (Unix
    /// ms), index member, now (Unix ms), audit document, audit MAXLEN, audit MINID, audit stream TTL ms, most fields
    /// a dictionary may hold, then record positions 1 to 17 of <see cref="RedisGrantRecordFormat"/> ("" for absent).
    /// Returns 1 when recorded, 0 when the ID exists (nothing written).
    /// </summary>
    public const string Record = """
        -- A duplicate ID writes nothing (not even a dictionary entry), and the caller learns of it.
        if redis.call('EXISTS', KEYS[1]) == 1 then
          return 0
        end
        local dictionary, capacity = KEYS[6], tonumber(ARGV[9])
        -- Repeated strings (tenant, subject, audience, purpose, policy version, key thumbprints...) are stored once
        -- per tag and dictionary as '=' .. string -> number and number -> string; a full dictionary stores them in
        -- the record.
        local function intern(value)
          local number = redis.call('HGET', dictionary, '=' .. value)
          if number then
            return tonumber(number)
          end
          if redis.call('HLEN', dictionary) >= capacity then
            return value
          end
          number = redis.call('HINCRBY', dictionary, '#', 1)
          redis.call('HSET', dictionary, '=' .. value, number, number, value)
          return number
        end
        local function optional(value, convert)
          if value == '' then
            return false
          end
          return convert and convert(value) or value
        end
        -- A task that ends in a UUID is the part before it (repeated, so numbered) and the UUID's 16 bytes; any
        -- other task is stored as it is.
        local task = ARGV[16]
        if ARGV[17] ~= '' then
          task = intern(task)
        end
        local record = {
          tonumber(ARGV[10]), tonumber(ARGV[11]), intern(ARGV[12]), intern(ARGV[13]), optional(ARGV[14], intern),
          intern(ARGV[15]), task, optional(ARGV[17]), intern(ARGV[18]), intern(ARGV[19]), optional(ARGV[20], intern),
          optional(ARGV[21], intern), optional(ARGV[22], intern), optional(ARGV[23], intern), optional(ARGV[24], intern),
          optional(ARGV[25], intern), optional(ARGV[26])}
        while #record > 10 and record[#record] == false do
          record[#record] = nil
        end
        redis.call('SET', KEYS[1], cmsgpack.pack(record), 'PX', ARGV[1])
        -- The dictionary outlives every record that refers to it.
        if redis.call('PTTL', dictionary) < tonumber(ARGV[1]) then
          redis.call('PEXPIRE', dictionary, ARGV[1])
        end
        local expiry = tonumber(ARGV[2])
        local ttl = expiry - tonumber(ARGV[4])
        for i = 2, 4 do
          -- Indexes are sorted sets scored by expiry: expired members are trimmed here, lazily, without SCAN,
          -- and an index key lives exactly as long as its latest-expiring member. Members are the ID without its
          -- routing tag, which every member of the index shares.
          redis.call('ZADD', KEYS[i], expiry, ARGV[3])
          redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[4])
          if redis.call('PTTL', KEYS[i]) < ttl then
            redis.call('PEXPIRE', KEYS[i], ttl)
          end
        end
        redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[6], '*', 'e', ARGV[5])
        redis.call('XTRIM', KEYS[5], 'MINID', '~', ARGV[7])
        redis.call('PEXPIRE', KEYS[5], ARGV[8])
        return 1
        """;

    /// <summary>
    /// The expiry of a stored record value, read at <c>now</c>, and its dictionary key (KEYS[first] or
    /// KEYS[first + 1]): Lua for <see cref="RedisGrantRecordFormat.Expiry"/> and
    /// <see cref="RedisGrantRecordFormat.DictionaryNumber"/>. Lua numbers are doubles, exact far beyond these values.
    /// </summary>
    private const string ExpiryFunctions = """
        local function expiryOf(stored, now)
          if stored >= 4294967296 then
            return stored
          end
          local difference = (stored - now) % 4294967296
          if difference >= 2147483648 then
            difference = difference - 4294967296
          end
          return now + difference
        end
        local function dictionaryOf(expiry, first)
          return KEYS[first + math.floor(expiry / 3600000) % 2]
        end

        """;

    /// <summary>
    /// Reads grants with their revocation marks and the dictionary strings they refer to, in one step (so a
    /// dictionary cannot expire between reading a record and its strings). KEYS: dictionary 0, dictionary 1, then
    /// a grant key and a revocation key per grant. ARGV: now (Unix ms). Returns per grant {record, mark, strings of
    /// positions 3–16}, false for whatever is absent.
    /// </summary>
    public const string Read = ExpiryFunctions + """
        local now = tonumber(ARGV[1])
        local results = {}
        for j = 0, (#KEYS - 2) / 2 - 1 do
          local document = redis.call('GET', KEYS[3 + 2 * j])
          local strings = {}
          if document and string.byte(document, 1) ~= 123 then
            local grant = cmsgpack.unpack(document)
            local dictionary = dictionaryOf(expiryOf(grant[1], now), 1)
            for i = 3, 16 do
              strings[i - 2] = type(grant[i]) == 'number' and redis.call('HGET', dictionary, grant[i])
            end
          end
          results[#results + 1] = {document, redis.call('GET', KEYS[4 + 2 * j]), strings}
        end
        return results
        """;

    /// <summary>
    /// Appends an audit event. KEYS: audit stream. ARGV: document, MAXLEN, MINID, stream TTL ms.
    /// </summary>
    public const string AppendAudit = """
        redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
        redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        return 1
        """;

    /// <summary>
    /// Revokes grants of one routing tag, each exactly once. KEYS: revocation stream, audit stream, dictionary 0,
    /// dictionary 1, then a grant key and a revocation key per grant. ARGV: now (Unix ms), revoked by, reason,
    /// stream MAXLEN, stream MINID, stream TTL ms, audit MAXLEN, audit MINID, audit TTL ms, channel, then the grant IDs.
    /// Returns per grant: {0} not found or expired; {1, position, tenant} revoked now; {2, revocation} revoked before.
    /// </summary>
    public const string Revoke = ExpiryFunctions + """
        local now = tonumber(ARGV[1])
        local results = {}
        local revoked = false
        -- Trimming by age never removes the newest entry from before this call, so a reader that is caught up
        -- can still find its position after a quiet period longer than the retention (see HistoryStart).
        local minId = ARGV[5]
        local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
        if newest and tonumber(string.match(newest[1], '^(%d+)')) < tonumber(minId) then
          minId = newest[1]
        end
        -- Expiry, tenant, subject and task of a record (RedisGrantRecordFormat; compact JSON before it).
        local function load(document)
          if not document then
            return nil
          end
          if string.byte(document, 1) == 123 then
            local grant = cjson.decode(document)
            return {e = tonumber(grant.e), t = grant.t, s = grant.s, k = grant.k}
          end
          local grant = cmsgpack.unpack(document)
          local expiry = expiryOf(grant[1], now)
          local dictionary = dictionaryOf(expiry, 3)
          local function text(value)
            if type(value) == 'number' then
              return redis.call('HGET', dictionary, value)
            end
            return value
          end
          local task = text(grant[7])
          if grant[8] then
            local hex = string.gsub(grant[8], '.', function(c) return string.format('%02x', string.byte(c)) end)
            task = task .. string.sub(hex, 1, 8) .. '-' .. string.sub(hex, 9, 12) .. '-' .. string.sub(hex, 13, 16)
              .. '-' .. string.sub(hex, 17, 20) .. '-' .. string.sub(hex, 21, 32)
          end
          return {e = expiry, t = text(grant[3]), s = text(grant[4]), k = task}
        end
        for j = 0, (#KEYS - 4) / 2 - 1 do
          local grantKey, revocationKey, id = KEYS[5 + 2 * j], KEYS[6 + 2 * j], ARGV[11 + j]
          local grant = load(redis.call('GET', grantKey))
          if not grant or grant.e <= now then
            results[#results + 1] = {0}
          else
            local existing = redis.call('GET', revocationKey)
            if existing then
              -- Revoking twice is harmless: the first revocation stands, nothing is appended or announced.
              results[#results + 1] = {2, existing}
            else
              local revocation = cjson.encode({at = now, by = ARGV[2], why = ARGV[3]})
              -- The mark lives exactly as long as the record it marks.
              local ttl = redis.call('PTTL', grantKey)
              if ttl > 0 then
                redis.call('SET', revocationKey, revocation, 'PX', ttl)
              else
                redis.call('SET', revocationKey, revocation)
              end
              local position = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'g', id, 't', grant.t, 'at', ARGV[1])
              redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'e', cjson.encode({
                ty = 'grant.revoked', tm = now, t = grant.t, s = grant.s, k = grant.k, g = id, ac = ARGV[2], r = ARGV[3]}))
              -- Classic PUBLISH reaches subscribers on every node of a cluster, so every replica hears it.
              redis.call('PUBLISH', ARGV[10], cjson.encode({p = position, g = id, t = grant.t, at = now}))
              results[#results + 1] = {1, position, grant.t}
              revoked = true
            end
          end
        end
        if revoked then
          redis.call('XTRIM', KEYS[1], 'MINID', '~', minId)
          redis.call('PEXPIRE', KEYS[1], ARGV[6])
          redis.call('XTRIM', KEYS[2], 'MINID', '~', ARGV[8])
          redis.call('PEXPIRE', KEYS[2], ARGV[9])
        end
        return results
        """;

    /// <summary>
    /// One page of an index, latest expiry first, ties by member descending (ZRANGE REV order). KEYS: index.
    /// ARGV: now (Unix ms), how many, cursor member (the last ID of the previous page without its routing tag, or
    /// empty), the same ID whole. Returns the members of unexpired grants after the cursor.
    /// </summary>
    public const string Page = """
        local start = 0
        if ARGV[3] ~= '' then
          -- Members written before the routing tag was left out of them carry the whole ID (ARGV[4]).
          local rank = redis.call('ZREVRANK', KEYS[1], ARGV[3]) or redis.call('ZREVRANK', KEYS[1], ARGV[4])
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

    /// <summary>
    /// Where a stream's retained history starts. KEYS: stream. Returns false when the stream does not exist,
    /// {1, id} with the first retained entry, or {2, id} with the last generated ID when every entry was trimmed.
    /// (XINFO STREAM max-deleted-entry-id would be exact, but Redis 7.0 moves it only for XDEL, not for trimming.)
    /// </summary>
    public const string HistoryStart = """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          return false
        end
        local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
        if first then
          return {1, first[1]}
        end
        local info = redis.call('XINFO', 'STREAM', KEYS[1])
        for i = 1, #info, 2 do
          if info[i] == 'last-generated-id' then
            return {2, info[i + 1]}
          end
        end
        return {2, '0-0'}
        """;
}
