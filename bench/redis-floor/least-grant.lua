-- The least Redis work a recorded grant needs, as one script call records a batch of grants: its record (SET with a
-- TTL), its audit event (XADD to a capped stream), an entry in its tenant's, its subject's and its task's indexes
-- (APPEND, APPEND, ZADD). No status list, no dictionary, no checks: a lower bound for the record script, not a store.
-- ARGV: grants per call, record bytes, audit event bytes, subjects, tasks.
local n, record, event = tonumber(ARGV[1]), string.rep('r', tonumber(ARGV[2])), string.rep('e', tonumber(ARGV[3]))
local subjects, tasks = tonumber(ARGV[4]), tonumber(ARGV[5])
local second = tonumber(redis.call('TIME')[1])
for i = 1, n do
  local id = string.format('%022d', redis.call('INCR', '{t}:n'))
  redis.call('SET', '{t}:g:' .. id, record, 'PX', 600000)
  redis.call('XADD', '{t}:a', 'MAXLEN', '~', 100000, '*', 'e', event)
  redis.call('APPEND', '{t}:tb:' .. second, id)
  redis.call('APPEND', '{t}:sb:' .. (i % subjects) .. ':' .. second, id)
  redis.call('ZADD', '{t}:k:' .. (i % tasks), second + 300, id)
end
return n
