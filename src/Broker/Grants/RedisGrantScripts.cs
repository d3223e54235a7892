namespace Broker.Grants;

/// <summary>
/// The Lua scripts of the Redis grant store. A script runs atomically: no other command runs between its first
/// and last call (EVAL semantics), and replicas and the AOF receive its effects as one MULTI/EXEC. That is what
/// makes "record a grant and its audit event" and "revoke a grant with its descendants, append to the stream,
/// announce" single steps. Every key a script touches shares one hash tag, so each script runs on one Redis Cluster
/// slot; all are passed in KEYS but the descendants the revoke script discovers as it walks. Times come from the caller's <see cref="TimeProvider"/>, not from Redis TIME, so scripts stay
/// deterministic. StackExchange.Redis sends EVALSHA once the script is cached and falls back to EVAL on NOSCRIPT.
/// </summary>
internal static class RedisGrantScripts
{
    /// <summary>
    /// Records a grant. KEYS: grant, tenant index, subject index, task index, audit stream, the string dictionary of
    /// the grant's expiry (<see cref="RedisGrantRecordFormat.DictionaryNumber"/>), the tenant's status list bits, free
    /// indexes and their order (<see cref="RedisGrantKeys.StatusBits"/>…), and for a derived grant also its parent's
    /// record, revocation mark and children key, then dictionaries 0 and 1. ARGV: record TTL ms, expiry (Unix ms),
    /// index member, now (Unix ms), audit document, audit MAXLEN, audit MINID, audit stream TTL ms, most fields a
    /// dictionary may hold, record positions 1 to 16 of <see cref="RedisGrantRecordFormat"/> ("" for absent), the
    /// parent's tag-less ID ("" for none), how many children a record holds itself, then the status list: capacity (0:
    /// off), when this grant's index comes free, the reuse step, until when a still-marked index waits, the list's TTL
    /// (all ms; <see cref="StatusIndexing.Plan"/>). Returns {1, status index or nothing} when recorded; nothing of the
    /// grant is written when it returns {0} (the ID exists), {2} (the parent is revoked, expired or unknown), {3} (the
    /// parent belongs to another tenant) or {4} (the status list has no free index).
    /// </summary>
    public const string Record = ExpiryFunctions + RecordFunctions + """
        -- A duplicate ID writes nothing (not even a dictionary entry), and the caller learns of it.
        if redis.call('EXISTS', KEYS[1]) == 1 then
          return {0}
        end
        -- A derived grant is recorded only while its parent is active, and that is decided here, in the step that
        -- records it: a revocation of the parent ran either before (its mark is there: nothing is written) or runs
        -- after (and its cascade finds this grant among the parent's children).
        local parent, inline
        if KEYS[10] then
          local document = redis.call('GET', KEYS[10])
          if not document or redis.call('EXISTS', KEYS[11]) == 1 then
            return {2}
          end
          -- The record array, its status index, its own parent (or false) and the children it holds.
          parent = {split(document)}
          local expiry, tenant = expiryOf(parent[1][1], tonumber(ARGV[4])), parent[1][3]
          if type(tenant) == 'number' then
            tenant = redis.call('HGET', dictionaryOf(expiry, 13), tenant)
          end
          inline = #parent[4] < tonumber(ARGV[27]) * 22
          if expiry <= tonumber(ARGV[4]) then
            return {2}
          end
          if tenant ~= ARGV[12] then
            return {3}
          end
        end
        -- The token's index in its tenant's status list, in this same step: no index is handed to two unexpired
        -- tokens, and no grant is recorded without one (StatusIndexing has the rules; the in-memory store the same).
        local statusIndex
        local capacity = tonumber(ARGV[28])
        if capacity > 0 then
          local bits, queue, order, step = KEYS[7], KEYS[8], KEYS[9], tonumber(ARGV[30])
          -- Frees an index at a time: appended, 3 bytes, to the field of that step; a field of 256 moves aside whole
          -- (to 'step.n') so that no field, and so no HGET/HSET here, grows past 768 bytes.
          local function free(index, at)
            local field = string.format('%d', at / step)
            local packed = redis.call('HGET', queue, field)
            if packed and #packed >= 768 then
              local full = field .. '.' .. redis.call('HINCRBY', queue, '#', 1)
              redis.call('HSET', queue, full, packed)
              redis.call('ZADD', order, at, full)
              packed = nil
            end
            redis.call('HSET', queue, field, (packed or '') .. string.char(math.floor(index / 65536), math.floor(index / 256) % 256, index % 256))
            redis.call('ZADD', order, at, field)
          end
          -- An index of the field that came due first; one still marked revoked is cleared and waits out the lists
          -- that may show the mark (a verifier would refuse the new token), and the next one is tried.
          for _ = 1, 16 do
            local field = redis.call('ZRANGEBYSCORE', order, '-inf', ARGV[4], 'LIMIT', 0, 1)[1]
            if not field then
              break
            end
            local packed = redis.call('HGET', queue, field) or ''
            if #packed <= 3 then
              redis.call('HDEL', queue, field)
              redis.call('ZREM', order, field)
            else
              redis.call('HSET', queue, field, string.sub(packed, 1, -4))
            end
            if #packed >= 3 then
              local a, b, c = string.byte(packed, -3, -1)
              local index = a * 65536 + b * 256 + c
              local offset = index - index % 8 + 7 - index % 8
              if redis.call('GETBIT', bits, offset) == 0 then
                statusIndex = index
                break
              end
              redis.call('SETBIT', bits, offset, 0)
              free(index, tonumber(ARGV[31]))
            end
          end
          if not statusIndex then
            local next = tonumber(redis.call('HGET', queue, 'n') or '0')
            if next >= capacity then
              return {4}
            end
            statusIndex = redis.call('HINCRBY', queue, 'n', 1) - 1
          end
          free(statusIndex, tonumber(ARGV[29]))
          -- The three keys share one expiry, so they only ever go together (the list starts over, all free).
          local ttl = math.max(redis.call('PTTL', queue), tonumber(ARGV[32]))
          redis.call('PEXPIRE', bits, ttl)
          redis.call('PEXPIRE', queue, ttl)
          redis.call('PEXPIRE', order, ttl)
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
          optional(ARGV[25], intern)}
        while #record > 10 and record[#record] == false do
          record[#record] = nil
        end
        -- The status index, then a derived grant's parent (tag-less), follow the array rather than pad it to positions
        -- of their own.
        local value = cmsgpack.pack(record)
        if statusIndex then
          value = value .. cmsgpack.pack(statusIndex)
        end
        if ARGV[26] ~= '' then
          value = value .. cmsgpack.pack(ARGV[26])
        end
        redis.call('SET', KEYS[1], value, 'PX', ARGV[1])
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
        if parent then
          -- The link the revocation cascade follows, parent to child, so that it never scans: the parent's record
          -- holds its first children (after the array and its own parent: tag-less IDs one after the other), its
          -- children key the rest.
          if inline then
            redis.call('SET', KEYS[10], join(parent[1], parent[2], parent[3], parent[4] .. ARGV[3]), 'KEEPTTL')
          else
            redis.call('APPEND', KEYS[12], ARGV[3])
            if redis.call('PTTL', KEYS[12]) < tonumber(ARGV[1]) then
              redis.call('PEXPIRE', KEYS[12], ARGV[1])
            end
          end
          -- The parent's record, and the children it holds, live at least as long as this grant's record.
          if redis.call('PTTL', KEYS[10]) < tonumber(ARGV[1]) then
            redis.call('PEXPIRE', KEYS[10], ARGV[1])
          end
        end
        return {1, statusIndex}
        """;

    /// <summary>
    /// The values of a stored record (<see cref="RedisGrantRecordFormat"/>) and back: the array, then the status index
    /// when there is one (a number), the parent's tag-less ID or false, and the children it holds ('' for none).
    /// Records written with the status list off have no number after the array.
    /// </summary>
    private const string RecordFunctions = """
        local function split(document)
          local values = {cmsgpack.unpack(document)}
          if type(values[2]) == 'number' then
            return values[1], values[2], values[3] or false, values[4] or ''
          end
          return values[1], nil, values[2] or false, values[3] or ''
        end
        local function join(array, index, parent, children)
          if index then
            return cmsgpack.pack(array, index, parent, children)
          end
          return cmsgpack.pack(array, parent, children)
        end

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
          if document then
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
    /// Revokes grants of one routing tag, each exactly once, and with each the grants derived from it at any depth.
    /// KEYS: revocation stream, audit stream, dictionary 0, dictionary 1, then a grant key and a revocation key per
    /// grant. ARGV: now (Unix ms), revoked by, reason, stream MAXLEN, stream MINID, stream TTL ms, audit MAXLEN, audit
    /// MINID, audit TTL ms, channel, the tag's key base (<see cref="RedisGrantKeys.TagBase"/>), the tag, then the grant
    /// IDs. Each grant revoked has its bit set in its tenant's status list. Returns per grant: {0} not found or expired;
    /// {2, revocation} revoked before; {1, position, tenant, expiry, descendants} revoked now, where descendants lists
    /// {id, position, tenant, expiry} of each descendant this call revoked, parents before their children.
    /// </summary>
    /// <remarks>
    /// Descendants are found by following the parent-to-children links the record script writes, so their keys are
    /// built here from the key base rather than passed in KEYS; they are on the slot of the tag, which Redis Cluster
    /// lets a script touch. The whole family is revoked in this one step, so no descendant can be re-exchanged
    /// between its ancestor's revocation and its own. The script runs for as long as the family is large: a grant
    /// narrowed a thousand times takes about a thousand times one revocation (a few milliseconds).
    /// </remarks>
    public const string Revoke = ExpiryFunctions + RecordFunctions + """
        local now = tonumber(ARGV[1])
        local base, tag = ARGV[11], ARGV[12]
        local results = {}
        local revoked = false
        -- Trimming by age never removes the newest entry from before this call, so a reader that is caught up
        -- can still find its position after a quiet period longer than the retention (see HistoryLost).
        local minId = ARGV[5]
        local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
        if newest and tonumber(string.match(newest[1], '^(%d+)')) < tonumber(minId) then
          minId = newest[1]
        end
        -- Expiry, tenant, subject, task, status index and the children it holds of a record (RedisGrantRecordFormat).
        local function load(document)
          if not document then
            return nil
          end
          local grant, index, _, children = split(document)
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
          return {e = expiry, t = text(grant[3]), s = text(grant[4]), k = task, i = index, c = children}
        end
        -- Marks one grant revoked, for as long as its record lives, with its own stream entry (carrying the
        -- token's expiry, after which a verifier may forget it), audit event and announcement.
        local function mark(id, grantKey, revocationKey, grant, why)
          local revocation = cjson.encode({at = now, by = ARGV[2], why = why})
          local ttl = redis.call('PTTL', grantKey)
          if ttl > 0 then
            redis.call('SET', revocationKey, revocation, 'PX', ttl)
          else
            redis.call('SET', revocationKey, revocation)
          end
          -- Its bit in its tenant's status list (an unexpired grant's index cannot have gone to another). The list
          -- keeps the expiry of the tenant's other status keys, so they still go together.
          if grant.i then
            local bits = base .. 'lb:' .. grant.t
            redis.call('SETBIT', bits, grant.i - grant.i % 8 + 7 - grant.i % 8, 1)
            local lifetime = redis.call('PTTL', base .. 'lq:' .. grant.t)
            if lifetime > 0 then
              redis.call('PEXPIRE', bits, lifetime)
            end
          end
          local position = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*',
            'g', id, 't', grant.t, 'at', ARGV[1], 'e', string.format('%d', grant.e))
          redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'e', cjson.encode({
            ty = 'grant.revoked', tm = now, t = grant.t, s = grant.s, k = grant.k, g = id, ac = ARGV[2], r = why}))
          -- Classic PUBLISH reaches subscribers on every node of a cluster, so every replica hears it.
          redis.call('PUBLISH', ARGV[10], cjson.encode({p = position, g = id, t = grant.t, at = now, e = grant.e}))
          revoked = true
          return position
        end
        -- Appends the children of a grant to a queue: those its record holds, then those in its children key.
        local function children(id, grant, queue)
          local function add(packed)
            for i = 1, #packed - 21, 22 do
              queue[#queue + 1] = tag .. '.' .. string.sub(packed, i, i + 21)
            end
          end
          if grant and grant.c ~= '' then
            add(grant.c)
          end
          local more = redis.call('GET', base .. 'c:' .. id)
          if more then
            add(more)
          end
        end
        for j = 0, (#KEYS - 4) / 2 - 1 do
          local grantKey, revocationKey, id = KEYS[5 + 2 * j], KEYS[6 + 2 * j], ARGV[13 + j]
          local grant = load(redis.call('GET', grantKey))
          if not grant or grant.e <= now then
            results[#results + 1] = {0}
          else
            local existing = redis.call('GET', revocationKey)
            if existing then
              -- Revoking twice is harmless: the first revocation stands, nothing is appended or announced.
              results[#results + 1] = {2, existing}
            else
              local position = mark(id, grantKey, revocationKey, grant, ARGV[3])
              -- The cascade, breadth first: every unexpired, unrevoked descendant is marked, naming this grant as
              -- the reason (GrantValidation.DescendantReason). Expired and revoked ones are walked through, not
              -- marked. IDs are random, so the links cannot form a cycle; 'seen' guards against one anyway.
              local why = 'revoked with ancestor ' .. id .. ': ' .. ARGV[3]
              local descendants, queue, seen, head = {}, {}, {[id] = true}, 1
              children(id, grant, queue)
              while head <= #queue do
                local child = queue[head]
                head = head + 1
                if not seen[child] then
                  seen[child] = true
                  local childKey, childMark = base .. 'g:' .. child, base .. 'r:' .. child
                  local descendant = load(redis.call('GET', childKey))
                  if descendant and descendant.e > now and redis.call('EXISTS', childMark) == 0 then
                    descendants[#descendants + 1] = {child, mark(child, childKey, childMark, descendant, why), descendant.t, descendant.e}
                  end
                  children(child, descendant, queue)
                end
              end
              results[#results + 1] = {1, position, grant.t, grant.e, descendants}
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

    /// <summary>
    /// Whether entries after a reader's position may be gone. KEYS: stream. ARGV: the position. Returns 0 when the
    /// reader can resume without a loss: its entry is still in the stream (trimming removes the oldest first, so
    /// everything after it is retained), or it is the last generated ID of a stream whose entries were all trimmed,
    /// or it is <c>0-0</c> (handed out for a stream that did not exist yet) and the stream is still missing or was
    /// never trimmed. Anything else, including a stream recreated after the data was lost, returns 1.
    /// </summary>
    public const string HistoryLost = """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          if ARGV[1] == '0-0' then
            return 0
          end
          return 1
        end
        if ARGV[1] ~= '0-0' and #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) > 0 then
          return 0
        end
        local info = redis.call('XINFO', 'STREAM', KEYS[1])
        local fields = {}
        for i = 1, #info, 2 do
          fields[info[i]] = info[i + 1]
        end
        if ARGV[1] == '0-0' then
          if fields['entries-added'] and tonumber(fields['entries-added']) == tonumber(fields['length']) then
            return 0
          end
          return 1
        end
        if fields['length'] == 0 and fields['last-generated-id'] == ARGV[1] then
          return 0
        end
        return 1
        """;

    /// <summary>
    /// The newest position of a stream: its last generated ID, or <c>0-0</c> when it does not exist. KEYS: stream.
    /// </summary>
    public const string StreamPosition = """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          return '0-0'
        end
        local info = redis.call('XINFO', 'STREAM', KEYS[1])
        for i = 1, #info, 2 do
          if info[i] == 'last-generated-id' then
            return info[i + 1]
          end
        end
        return '0-0'
        """;
}
