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
    /// base (<see cref="RedisGrantKeys.TagBase"/>), from which the tenant index's buckets and the subject index's chunks are named. Returns {1, status index or nothing} when recorded; nothing of the grant is written when it
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
          local list = listOf(KEYS[7], KEYS[8], KEYS[9])
          statusIndex = allocate(list, now, capacity, tonumber(ARGV[29]), tonumber(ARGV[31]), tonumber(ARGV[30]))
          if not statusIndex then
            return {4}
          end
          list.ttl = math.max(list.ttl, tonumber(ARGV[32]))
        end
        local dictionary = dictionaryState(KEYS[6], tonumber(ARGV[9]))
        -- A task that ends in a UUID is the part before it (repeated, so numbered) and the UUID's 16 bytes; any
        -- other task is stored as it is.
        local task = ARGV[16]
        if ARGV[17] ~= '' then
          task = intern(dictionary, task)
        end
        local record = {
          tonumber(ARGV[10]), tonumber(ARGV[11]), intern(dictionary, ARGV[12]), intern(dictionary, ARGV[13]),
          optional(ARGV[14], dictionary), intern(dictionary, ARGV[15]), task, optional(ARGV[17]), intern(dictionary, ARGV[18]),
          intern(dictionary, ARGV[19]), optional(ARGV[20], dictionary), optional(ARGV[21], dictionary),
          optional(ARGV[22], dictionary), optional(ARGV[23], dictionary), optional(ARGV[24], dictionary),
          optional(ARGV[25], dictionary)}
        -- Position 17, the consuming tenant of a shared grant, comes last of all ARGV (after the remainders).
        record[17] = optional(ARGV[38 + remainders], dictionary)
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
        extendLater(dictionary.key, ARGV[1])
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
        -- share the tenant's index, often the subject's and task's. The tenant's is buckets per expiry (addBucketed): a
        -- tenant gets many grants a second. A subject's is chunked (addChunked): a subject gets one now and then, and a
        -- bucket per grant would cost a key per grant. A task's is one sorted set, trimmed from 0, not -inf: its limits
        -- live below zero.
        addBucketed(KEYS[2], ARGV[39 + remainders], ARGV[2], ARGV[3], ttl, ARGV[4])
        addChunked(KEYS[3], ARGV[39 + remainders], expiry, ARGV[3], ttl, ARGV[4])
        redis.call('ZADD', KEYS[4], expiry, ARGV[3])
        if not trimmed[KEYS[4]] then
          redis.call('ZREMRANGEBYSCORE', KEYS[4], 0, ARGV[4])
          trimmed[KEYS[4]] = true
        end
        extendLater(KEYS[4], taskTtl)
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
            extendLater(KEYS[12], ARGV[1])
          end
          -- The parent's record, and the children it holds, live at least as long as this grant's record.
          extendLater(KEYS[10], ARGV[1])
        end
        return {1, statusIndex}
        """;


    /// <summary>
    /// Records a batch of grants (group commit), each as <see cref="RecordOne"/> describes, one after the other in one
    /// atomic step: a grant sees every grant recorded before it, in this batch or earlier (so task limits and a
    /// parent's state are decided exactly as for grants recorded one by one), and each has its own outcome. KEYS: each
    /// grant's keys, one grant after the other. ARGV: how many grants (n), then for each its number of keys and of
    /// arguments (2n values), then each grant's arguments, one grant after the other. Returns one reply per grant, in
    /// order. What the grants share is looked up, written or extended once per batch rather than once per grant
    /// (<see cref="BatchFunctions"/>): dictionary numbers, the status lists' queues and expiries, other expiries (a
    /// key's TTL only grows, and Redis's clock stands still during a script) and the trimming of indexes and the audit
    /// stream. RecordOne's local functions are defined once per call, not per grant.
    /// </summary>
    public static readonly RedisScript Record = new(RecordText);

    private const string RecordText = """
        local count = tonumber(ARGV[1])
        local batchKeys, batchArguments = KEYS, ARGV
        -- The keys and arguments of the grant being recorded, refilled for each: RecordOne reads them as KEYS and ARGV.
        local KEYS, ARGV = {}, {}
        local ttls, trimmed = {}, {}
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
        -- A tenant's index (RedisGrantKeys.IndexBucket): the grant's tag-less ID appended to the bucket of its expiry,
        -- one APPEND; the rest once per bucket or directory and batch. The batch's grants mostly share one
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

        """ + ChunkFunctions + """
        -- A new chunk's name: the directory's counter, a member scored below zero that no lookup by expiry reaches.
        local function newChunk(directory)
          return string.format('%d', -tonumber(redis.call('ZINCRBY', directory, -1, '#')))
        end
        -- Removes the expired members of a chunked index from its lowest chunk up, and the chunks they empty. Every
        -- chunk above one that keeps a member holds later expiries, so the walk stops there.
        local function trimChunks(directory, base, now)
          for _ = 1, 16 do
            local lowest = redis.call('ZRANGEBYSCORE', directory, 0, '+inf', 'LIMIT', 0, 1)[1]
            if not lowest then
              return
            end
            local chunk = chunkOf(directory, base, lowest)
            redis.call('ZREMRANGEBYSCORE', chunk, 0, now)
            if redis.call('EXISTS', chunk) == 1 then
              return
            end
            redis.call('ZREM', directory, lowest)
          end
        end
        -- A subject's index (RedisGrantKeys.IndexChunk): its directory (a sorted set of chunk names scored by the lowest
        -- expiry each may hold) and chunks of at most 120 members (sorted sets: member -> expiry), each holding the
        -- expiries from its bound up to the next chunk's (equal expiries stay in one chunk, so each chunk is one stretch
        -- of the listing order). Past 128 members Redis turns a sorted set from a listpack (about 34 bytes per member) into a skiplist
        -- (about 120), so a chunk that is full splits before it takes one more. 120 members of 34 bytes fill a 4 KiB
        -- allocation.
        local function addChunked(directory, base, expiry, member, ttl, now)
          if not trimmed[directory] then
            trimChunks(directory, base, now)
            trimmed[directory] = true
          end
          local name = redis.call('ZREVRANGEBYSCORE', directory, expiry, 0, 'LIMIT', 0, 1)[1]
          if not name then
            -- Below every chunk's bound (or no chunk yet): the lowest chunk takes it, its bound lowered.
            name = redis.call('ZRANGEBYSCORE', directory, 0, '+inf', 'LIMIT', 0, 1)[1] or newChunk(directory)
            redis.call('ZADD', directory, expiry, name)
          end
          local chunk = chunkOf(directory, base, name)
          local first, last
          if redis.call('ZCARD', chunk) >= 120 then
            first = redis.call('ZRANGE', chunk, 0, 0, 'WITHSCORES')[2]
            last = redis.call('ZRANGE', chunk, -1, -1, 'WITHSCORES')[2]
          end
          if first and expiry > tonumber(last) then
            -- After all of it (appending, the usual case): a chunk of its own.
            name = newChunk(directory)
            redis.call('ZADD', directory, expiry, name)
            chunk = chunkOf(directory, base, name)
          elseif first and first == last then
            -- Every member expires in the same millisecond (a burst): equal expiries never split, so the chunk grows
            -- past the listpack size, in O(log n) per member. An earlier expiry goes to a new chunk below it, which
            -- takes over its bound.
            if expiry < tonumber(first) then
              local lowerName = newChunk(directory)
              redis.call('ZADD', directory, redis.call('ZSCORE', directory, name), lowerName, first, name)
              chunk = chunkOf(directory, base, lowerName)
            end
          elseif first then
            local items = redis.call('ZRANGE', chunk, 0, -1, 'WITHSCORES')
            local count = #items / 2
            -- Where the new member goes: before the first member that expires no earlier.
            local at = count + 1
            while at > 1 and tonumber(items[2 * at - 2]) >= expiry do
              at = at - 1
            end
            local split, bound
            if at > count * 3 / 4 then
              -- Near the top (below a few longer-lived grants): the members from there up move on with the new one, so
              -- the chunk left behind stays nearly full.
              split, bound = at, expiry
            else
              -- Elsewhere, where the expiry rises nearest the middle (there is such a place: not all are equal).
              local middle = math.floor(count / 2) + 1
              for distance = 0, count do
                for _, k in ipairs({middle + distance, middle - distance}) do
                  if not split and k >= 2 and k <= count and tonumber(items[2 * k]) > tonumber(items[2 * k - 2]) then
                    split, bound = k, tonumber(items[2 * k])
                  end
                end
                if split then
                  break
                end
              end
            end
            if split then
              local upperName = newChunk(directory)
              local upper, moved = chunkOf(directory, base, upperName), {}
              for k = split, count do
                moved[#moved + 1] = items[2 * k]
                moved[#moved + 1] = items[2 * k - 1]
              end
              if #moved > 0 then
                redis.call('ZADD', upper, unpack(moved))
                redis.call('ZREMRANGEBYRANK', chunk, split - 1, -1)
                local lifetime = redis.call('PTTL', chunk)
                if lifetime > 0 then
                  redis.call('PEXPIRE', upper, lifetime)
                end
              end
              redis.call('ZADD', directory, bound, upperName)
              if expiry >= bound then
                chunk = upper
              end
            end
          end
          redis.call('ZADD', chunk, expiry, member)
          extend(chunk, ttl)
          extend(directory, ttl)
        end


        """ + ExpiryFunctions + RecordFunctions + BatchFunctions + """
        local function recordOne()
        """ + RecordOne + """

        end
        local results, k, a, keyCount, argumentCount = {}, 0, 1 + 2 * count, 0, 0
        for r = 1, count do
          local previousKeys, previousArguments = keyCount, argumentCount
          keyCount, argumentCount = tonumber(batchArguments[2 * r]), tonumber(batchArguments[2 * r + 1])
          for i = 1, keyCount do
            KEYS[i] = batchKeys[k + i]
          end
          for i = keyCount + 1, previousKeys do
            KEYS[i] = nil
          end
          for i = 1, argumentCount do
            ARGV[i] = batchArguments[a + i]
          end
          for i = argumentCount + 1, previousArguments do
            ARGV[i] = nil
          end
          k, a = k + keyCount, a + argumentCount
          -- A grant that fails the script (a key of the wrong type, say) fails the whole call, and what the grants
          -- before it changed of the status lists, and the expiries they asked for, is written first: as when each
          -- grant wrote its own, no index recorded with a grant is left free in its list.
          local recorded, reply = pcall(recordOne)
          if not recorded then
            flush()
            -- Answered as Redis would have: a command's error keeps its code (WRONGTYPE, OOM...), any other is ERR.
            if type(reply) == 'string' and string.find(reply, '^%u+ ') then
              reply = redis.error_reply(reply)
            end
            error(reply, 0)
          end
          results[r] = reply
        end
        flush()
        return results
        """;

    /// <summary>
    /// The state <see cref="Record"/> keeps for its whole batch rather than per grant, and writes once when the batch
    /// ends (<c>flush</c>): everything in it is read or written by this script alone while it runs, and nothing expires
    /// during a script (Redis's clock stands still), so a batch ends with the keys exactly as if each grant had written
    /// its own. <c>extendLater</c> collects the expiries of keys whose TTL the script never reads (a dictionary, a task
    /// index, a parent's record and children key): the longest asked of each is set once. A dictionary's numbers are
    /// looked up once per value and its fields counted once (<c>intern</c>). A tenant's status list (<c>allocate</c>,
    /// <see cref="StatusIndexing"/>; the in-memory store is the reference) is read through a cache of the fields of its
    /// queue: each field the batch reads is read once and each it changes written once, at the end, as is the
    /// high-water mark <c>n</c> and the list's expiry; the order (free fields by when they come due) is written as it
    /// changes, once per field, and its lowest field read once until the batch adds one below it or empties it, so
    /// that "nothing due" is one read per batch.
    /// </summary>
    private const string BatchFunctions = """
        local later = {}
        local function extendLater(key, ms)
          ms = tonumber(ms)
          if not later[key] or later[key] < ms then
            later[key] = ms
          end
        end
        -- Repeated strings (tenant, subject, audience, purpose, policy version, key thumbprints...) are stored once
        -- per tag and dictionary as '=' .. string -> number and number -> string; a full dictionary stores them in
        -- the record. The batch's grants share most of them: each is looked up once per batch.
        local dictionaries = {}
        local function dictionaryState(key, capacity)
          local dictionary = dictionaries[key]
          if not dictionary then
            dictionary = {key = key, capacity = capacity, known = {}}
            dictionaries[key] = dictionary
          end
          return dictionary
        end
        local function intern(dictionary, value)
          local number = dictionary.known[value]
          if number then
            return number
          end
          number = redis.call('HGET', dictionary.key, '=' .. value)
          if number then
            number = tonumber(number)
            dictionary.known[value] = number
            return number
          end
          if not dictionary.size then
            dictionary.size = redis.call('HLEN', dictionary.key)
          end
          if dictionary.size >= dictionary.capacity then
            -- Full: stored in the record, here and for the rest of the batch (a dictionary only grows).
            dictionary.known[value] = value
            return value
          end
          number = redis.call('HINCRBY', dictionary.key, '#', 1)
          -- The fields added: the string's two, and the counter with the first string.
          dictionary.size = dictionary.size + redis.call('HSET', dictionary.key, '=' .. value, number, number, value)
            + (number == 1 and 1 or 0)
          dictionary.known[value] = number
          return number
        end
        -- '' (absent) is false; any other value itself, or its number in dictionary when one is given.
        local function optional(value, dictionary)
          if value == '' then
            return false
          end
          return dictionary and intern(dictionary, value) or value
        end
        local lists = {}
        local function listOf(bits, queue, order)
          local list = lists[queue]
          if not list then
            -- fields: what the batch has read or left of the queue's fields (false: absent); changed: those to write;
            -- ordered: fields added to the order in this batch; lowest: the order's lowest {field, score}, false when
            -- empty, nil when to be read; ttl: the longest lifetime asked of the list.
            list = {bits = bits, queue = queue, order = order, fields = {}, changed = {}, ordered = {}, ttl = 0}
            lists[queue] = list
          end
          return list
        end
        local function fieldOf(list, name)
          local value = list.fields[name]
          if value == nil then
            value = redis.call('HGET', list.queue, name) or false
            list.fields[name] = value
          end
          return value
        end
        local function setField(list, name, value)
          list.fields[name] = value
          list.changed[name] = true
        end
        -- A field's score is when its indexes come free, the same each time it is added.
        local function addToOrder(list, name, at)
          if not list.ordered[name] then
            redis.call('ZADD', list.order, at, name)
            list.ordered[name] = true
            if list.lowest ~= nil and (not list.lowest or at <= list.lowest[2]) then
              list.lowest = nil
            end
          end
        end
        -- Frees an index at a time: appended, 3 bytes, to the field of that step; a field of 256 moves aside whole
        -- (to 'step.n') so that no field, and so no HGET/HSET here, grows past 768 bytes.
        local function free(list, index, at, step)
          local name = string.format('%d', at / step)
          local packed = fieldOf(list, name) or ''
          if #packed >= 768 then
            local moved = string.format('%d', tonumber(fieldOf(list, '#') or '0') + 1)
            setField(list, '#', moved)
            setField(list, name .. '.' .. moved, packed)
            addToOrder(list, name .. '.' .. moved, at)
            packed = ''
          end
          setField(list, name, packed .. string.char(math.floor(index / 65536), math.floor(index / 256) % 256, index % 256))
          addToOrder(list, name, at)
        end
        -- An index of the field that came due first; one still marked revoked is cleared and waits out the lists
        -- that may show the mark (a verifier would refuse the new token), and the next one is tried. Else the next
        -- never used; nil when the list has no free index.
        local function allocate(list, now, capacity, reusableAt, quarantineUntil, step)
          local index
          for _ = 1, 16 do
            if list.lowest == nil then
              local lowest = redis.call('ZRANGE', list.order, 0, 0, 'WITHSCORES')
              list.lowest = lowest[1] and {lowest[1], tonumber(lowest[2])} or false
            end
            if not list.lowest or list.lowest[2] > now then
              break
            end
            local name = list.lowest[1]
            local packed = fieldOf(list, name) or ''
            if #packed <= 3 then
              setField(list, name, false)
              redis.call('ZREM', list.order, name)
              list.ordered[name] = nil
              list.lowest = nil
            else
              setField(list, name, string.sub(packed, 1, -4))
            end
            if #packed >= 3 then
              local a, b, c = string.byte(packed, -3, -1)
              local candidate = a * 65536 + b * 256 + c
              local offset = candidate - candidate % 8 + 7 - candidate % 8
              if redis.call('GETBIT', list.bits, offset) == 0 then
                index = candidate
                break
              end
              redis.call('SETBIT', list.bits, offset, 0)
              free(list, candidate, quarantineUntil, step)
            end
          end
          if not index then
            local next = tonumber(fieldOf(list, 'n') or '0')
            if next >= capacity then
              return nil
            end
            setField(list, 'n', string.format('%d', next + 1))
            index = next
          end
          free(list, index, reusableAt, step)
          return index
        end
        local function flush()
          for queue, list in pairs(lists) do
            local set, deleted = {}, {}
            for name in pairs(list.changed) do
              if list.fields[name] then
                set[#set + 1] = name
                set[#set + 1] = list.fields[name]
              else
                deleted[#deleted + 1] = name
              end
            end
            if #set > 0 then
              redis.call('HSET', queue, unpack(set))
            end
            if #deleted > 0 then
              redis.call('HDEL', queue, unpack(deleted))
            end
            -- The three keys share one expiry, so they only ever go together (the list starts over, all free).
            if list.ttl > 0 then
              local ttl = math.max(redis.call('PTTL', queue), list.ttl)
              redis.call('PEXPIRE', list.bits, ttl)
              redis.call('PEXPIRE', queue, ttl)
              redis.call('PEXPIRE', list.order, ttl)
            end
          end
          lists = {}
          for key, ms in pairs(later) do
            if redis.call('PTTL', key) < ms then
              redis.call('PEXPIRE', key, ms)
            end
          end
          later = {}
        end

        """;


    /// <summary>
    /// Reads grants with their revocation marks and the dictionary strings they refer to, in one step (so a
    /// dictionary cannot expire between reading a record and its strings). KEYS: dictionary 0, dictionary 1, then
    /// a grant key and a revocation key per grant. ARGV: now (Unix ms). Returns per grant {record, mark, strings of
    /// positions 3–17}, false for whatever is absent.
    /// </summary>
    public static readonly RedisScript Read = new(ReadText);

    private const string ReadText = ExpiryFunctions + """
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
