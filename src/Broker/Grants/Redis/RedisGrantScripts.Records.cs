namespace Broker.Grants.Redis;

internal static partial class RedisGrantScripts
{
    /// <summary>
    /// One grant of <see cref="Record"/>. KEYS: grant, tenant index, subject index, task index, audit stream, the string dictionary of
    /// the grant's expiry (<see cref="RedisGrantRecordCodec.DictionaryNumber"/>), the tenant's status list bits, free
    /// indexes and their order (<see cref="RedisGrantKeys.StatusBits"/>…), and for a derived grant also its parent's
    /// record, revocation mark and children key, then dictionaries 0 and 1 (which a grant that is not derived but has
    /// forbidden combinations to check passes as KEYS[10] and KEYS[11]). ARGV: record TTL ms, expiry (Unix ms),
    /// index member, now (Unix ms), audit document, audit MAXLEN, audit MINID, audit stream TTL ms, most fields a
    /// dictionary may hold, record positions 1 to 16 of <see cref="RedisGrantRecordCodec"/> ("" for absent), the
    /// parent's tag-less ID ("" for none), how many children a record holds itself, then the status list: capacity (0:
    /// off), when this grant's index comes free, the reuse step, until when a still-marked index waits, the list's TTL
    /// (all ms; <see cref="StatusIndexing.Plan"/>), then the task's limits (<see cref="TaskLimitCheck"/>, 0 for none):
    /// most grants, longest duration in ms, the prefixes of a grant's record and revocation keys (followed by a tag-less
    /// ID; "" when there are no remainders), how many forbidden remainders follow, and each remainder (capability names,
    /// space-separated), the consuming tenant of a shared grant (record position 17, "" for none), and last the tag's key
    /// base (<see cref="RedisGrantKeys.TagBase"/>), from which the buckets of the tenant and subject indexes are named. Returns {1, status index or nothing} when recorded; nothing of the grant is written when it
    /// returns {0} (the ID exists), {2} (the parent is revoked, expired or unknown), {3} (the parent belongs to another
    /// tenant), {4} (the status list has no free index), {5} (the task's live grants hold the rest of a forbidden
    /// combination), {6} (the task has had its most grants) or {7} (the task is past its longest duration).
    /// </summary>
    private const string RecordOne = """
        -- A duplicate ID writes nothing (not even a dictionary entry), and the caller learns of it.
        if redis.call('EXISTS', KEYS[1]) == 1 then
          return {0}
        end
        -- A derived grant is recorded only while its parent is active, and that is decided here, in the step that
        -- records it: a revocation of the parent ran either before (its mark is there: nothing is written) or runs
        -- after (and its cascade finds this grant among the parent's children).
        local parent, inline
        if ARGV[26] ~= '' then
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
        -- The task's limits, read from its index (KEYS[4]) before anything is written: two members that no reader by
        -- expiry reaches, scored below zero, keep its first grant's time (-ms, '#f') and its number of grants ('#n', negated).
        -- Of two racing grants of one task, the second sees the first: at most one half of a forbidden pair is recorded.
        local now, maxGrants, maxDuration = tonumber(ARGV[4]), tonumber(ARGV[33]), tonumber(ARGV[34])
        local first
        if maxDuration > 0 then
          first = redis.call('ZSCORE', KEYS[4], '#f')
          if first then
            first = -tonumber(first)
            if now >= first + maxDuration then
              return {7}
            end
          end
        end
        if maxGrants > 0 and -tonumber(redis.call('ZSCORE', KEYS[4], '#n') or '0') >= maxGrants then
          return {6}
        end
        local remainders = tonumber(ARGV[37])
        if remainders > 0 then
          -- What the task's live grants hold: unexpired members of its index whose grant is not revoked. An expired or
          -- revoked grant holds nothing any more (docs/policy.md, "Task limits").
          local members = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. ARGV[4], '+inf', 'LIMIT', 0, 1001)
          -- TaskLimitCheck.MaxLiveGrantsChecked: the check stays bounded inside the script.
          if #members > 1000 then
            return {6}
          end
          local held, dictionaries = {}, parent and 13 or 10
          for _, member in ipairs(members) do
            if redis.call('EXISTS', ARGV[36] .. member) == 0 then
              local document = redis.call('GET', ARGV[35] .. member)
              if document then
                local array = cmsgpack.unpack(document)
                local names = array[5]
                if type(names) == 'number' then
                  names = redis.call('HGET', dictionaryOf(expiryOf(array[1], now), dictionaries), names)
                end
                for name in string.gmatch(names or '', '%S+') do
                  held[name] = true
                end
              end
            end
          end
          for i = 38, 37 + remainders do
            local all = true
            for name in string.gmatch(ARGV[i], '%S+') do
              if not held[name] then
                all = false
                break
              end
            end
            if all then
              return {5}
            end
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
              -- The order may now be gone, and come back from free() without an expiry: set it again below.
              ttls[queue] = nil
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
          -- The three keys share one expiry, so they only ever go together (the list starts over, all free); set
          -- once per batch unless a later grant needs it longer.
          local ttl = tonumber(ARGV[32])
          if not ttls[queue] or ttls[queue] < ttl then
            ttl = math.max(redis.call('PTTL', queue), ttl)
            redis.call('PEXPIRE', bits, ttl)
            redis.call('PEXPIRE', queue, ttl)
            redis.call('PEXPIRE', order, ttl)
            ttls[queue] = ttl
          end
        end
        local dictionary, capacity = KEYS[6], tonumber(ARGV[9])
        -- Repeated strings (tenant, subject, audience, purpose, policy version, key thumbprints...) are stored once
        -- per tag and dictionary as '=' .. string -> number and number -> string; a full dictionary stores them in
        -- the record.
        -- The batch's grants share most of them: each is looked up once per batch.
        local known = interned[dictionary]
        if not known then
          known = {}
          interned[dictionary] = known
        end
        local function intern(value)
          local number = known[value]
          if number then
            return number
          end
          number = redis.call('HGET', dictionary, '=' .. value)
          if number then
            number = tonumber(number)
            known[value] = number
            return number
          end
          if redis.call('HLEN', dictionary) >= capacity then
            return value
          end
          number = redis.call('HINCRBY', dictionary, '#', 1)
          redis.call('HSET', dictionary, '=' .. value, number, number, value)
          known[value] = number
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
        -- Position 17, the consuming tenant of a shared grant, comes last of all ARGV (after the remainders).
        record[17] = optional(ARGV[38 + remainders], intern)
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
        extend(dictionary, ARGV[1])
        local expiry = tonumber(ARGV[2])
        local ttl = expiry - tonumber(ARGV[4])
        -- The task's count and first grant; with a longest duration its index lives until twice that duration after the
        -- first grant, so that a task past its end stays refused for as long again rather than starting over.
        local taskTtl = ttl
        if maxGrants > 0 then
          redis.call('ZINCRBY', KEYS[4], -1, '#n')
        end
        if maxDuration > 0 then
          if not first then
            first = now
            redis.call('ZADD', KEYS[4], -now, '#f')
          end
          taskTtl = math.max(ttl, first + 2 * maxDuration - now)
        end
        -- Indexes are by expiry: expired entries are trimmed here, lazily, without SCAN, and an index lives exactly as
        -- long as its latest-expiring member (a task index with limits, as long as its limits need). Members are the ID
        -- without its routing tag, which every member of the index shares. Trimmed once per batch: the batch's grants
        -- share the tenant's index, often the subject's and task's. The tenant's and subject's are buckets per expiry
        -- (addBucketed); a task's is one sorted set, trimmed from 0, not -inf: its limits live below zero.
        addBucketed(KEYS[2], ARGV[39 + remainders], ARGV[2], ARGV[3], ttl, ARGV[4])
        addBucketed(KEYS[3], ARGV[39 + remainders], ARGV[2], ARGV[3], ttl, ARGV[4])
        redis.call('ZADD', KEYS[4], expiry, ARGV[3])
        if not trimmed[KEYS[4]] then
          redis.call('ZREMRANGEBYSCORE', KEYS[4], 0, ARGV[4])
          trimmed[KEYS[4]] = true
        end
        extend(KEYS[4], taskTtl)
        redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[6], '*', 'e', ARGV[5])
        if not trimmed[KEYS[5]] then
          redis.call('XTRIM', KEYS[5], 'MINID', '~', ARGV[7])
          redis.call('PEXPIRE', KEYS[5], ARGV[8])
          trimmed[KEYS[5]] = true
        end
        if parent then
          -- The link the revocation cascade follows, parent to child, so that it never scans: the parent's record
          -- holds its first children (after the array and its own parent: tag-less IDs one after the other), its
          -- children key the rest.
          if inline then
            redis.call('SET', KEYS[10], join(parent[1], parent[2], parent[3], parent[4] .. ARGV[3]), 'KEEPTTL')
          else
            redis.call('APPEND', KEYS[12], ARGV[3])
            extend(KEYS[12], ARGV[1])
          end
          -- The parent's record, and the children it holds, live at least as long as this grant's record.
          extend(KEYS[10], ARGV[1])
        end
        return {1, statusIndex}
        """;


    /// <summary>
    /// Records a batch of grants (group commit), each as <see cref="RecordOne"/> describes, one after the other in one
    /// atomic step: a grant sees every grant recorded before it, in this batch or earlier (so task limits and a
    /// parent's state are decided exactly as for grants recorded one by one), and each has its own outcome. KEYS: each
    /// grant's keys, one grant after the other. ARGV: how many grants (n), then for each its number of keys and of
    /// arguments (2n values), then each grant's arguments, one grant after the other. Returns one reply per grant, in
    /// order. What the grants share is looked up or extended once per batch rather than once per grant: dictionary
    /// numbers, expiries (a key's TTL only grows, and Redis's clock stands still during a script) and the trimming of
    /// indexes and the audit stream.
    /// </summary>
    public const string Record = """
        local interned, ttls, trimmed = {}, {}, {}
        -- A key lives at least ms from now (once extended, later grants of the batch only ask Redis for longer).
        local function extend(key, ms)
          ms = tonumber(ms)
          local known = ttls[key] or redis.call('PTTL', key)
          if known < ms then
            redis.call('PEXPIRE', key, ms)
            known = ms
          end
          ttls[key] = known
        end

        """ + BucketFunctions + """
        -- A tenant's or subject's index (RedisGrantKeys.IndexBucket): the grant's tag-less ID appended to the bucket of
        -- its expiry, one APPEND; the rest once per bucket or directory and batch. The batch's grants mostly share one
        -- expiry second (exp is a NumericDate), so most grants cost that one APPEND per index.
        local bucketed = {}
        local function addBucketed(directory, base, expiry, member, ttl, now)
          if not trimmed[directory] then
            -- Expired seconds leave the directory here, lazily; their buckets go by their own TTL.
            redis.call('ZREMRANGEBYSCORE', directory, 0, now)
            trimmed[directory] = true
          end
          local bucket = bucketOf(directory, base, expiry)
          -- 22 bytes: the bucket is new, and lives exactly until its expiry (Redis's clock stands still in a script).
          if redis.call('APPEND', bucket, member) == #member then
            redis.call('PEXPIRE', bucket, ttl)
          end
          if not bucketed[bucket] then
            redis.call('ZADD', directory, expiry, expiry)
            bucketed[bucket] = true
          end
          extend(directory, ttl)
        end
        local function recordOne(KEYS, ARGV)
        """ + ExpiryFunctions + RecordFunctions + RecordOne + """

        end
        local count = tonumber(ARGV[1])
        local results, k, a = {}, 0, 1 + 2 * count
        for r = 1, count do
          local keyCount, argumentCount = tonumber(ARGV[2 * r]), tonumber(ARGV[2 * r + 1])
          local grantKeys, grantArguments = {}, {}
          for i = 1, keyCount do
            grantKeys[i] = KEYS[k + i]
          end
          for i = 1, argumentCount do
            grantArguments[i] = ARGV[a + i]
          end
          k, a = k + keyCount, a + argumentCount
          results[r] = recordOne(grantKeys, grantArguments)
        end
        return results
        """;


    /// <summary>
    /// Reads grants with their revocation marks and the dictionary strings they refer to, in one step (so a
    /// dictionary cannot expire between reading a record and its strings). KEYS: dictionary 0, dictionary 1, then
    /// a grant key and a revocation key per grant. ARGV: now (Unix ms). Returns per grant {record, mark, strings of
    /// positions 3–17}, false for whatever is absent.
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
            for i = 3, 17 do
              strings[i - 2] = type(grant[i]) == 'number' and redis.call('HGET', dictionary, grant[i])
            end
          end
          results[#results + 1] = {document, redis.call('GET', KEYS[4 + 2 * j]), strings}
        end
        return results
        """;

}
