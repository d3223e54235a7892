namespace Broker.Grants.Redis;

internal static partial class RedisGrantScripts
{
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
    public static readonly RedisScript Revoke = new(RevokeText);

    private const string RevokeText = ExpiryFunctions + RecordFunctions + """
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
        -- Expiry, tenant, subject, task, status index and the children it holds of a record (RedisGrantRecordCodec).
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

}
