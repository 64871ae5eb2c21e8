-- enqueue.lua: create a conversation and put it at the back of its department's queue.
-- KEYS: site keys (1-NK), NK+1 queue:DEPT, NK+2 conv:ID, NK+3 visitor:VISITOR,
--       NK+4 kpi day of now, NK+5 kpi:resolved of the customer, NK+6 kpi day of the close that
--       kpi:resolved names (NK+4 again when it names none)
-- ARGV: 1 conversation id, 2 now ms, 3 priority, 4 ms the kpi days are kept, 5 the value of
--       kpi:resolved the caller read ('' for none), 6 the reopen window ms, then field/value
--       pairs of the conversation
-- Invariants: a conversation is created once (a second call with the same id changes nothing)
-- and counted once; a resolved chat counts as reopened at most once, by the first new
-- conversation of its customer within the reopen window (kpi:resolved expires with it).
local k_queue, k_conv, k_visitor = KEYS[NK + 1], KEYS[NK + 2], KEYS[NK + 3]
local k_kpi, k_resolved, k_closed_day = KEYS[NK + 4], KEYS[NK + 5], KEYS[NK + 6]
local conv, now, priority = ARGV[1], ARGV[2], tonumber(ARGV[3])
KPI_KEEP = tonumber(ARGV[4])
local resolved, reopen_ms = ARGV[5], tonumber(ARGV[6])
if redis.call('EXISTS', k_conv) == 1 then return 0 end
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', k_conv, 'state', 'queued', 'priority', priority, 'created_ms', now,
  'epoch', 1, unpack(fields))
redis.call('ZADD', k_visitor, now, conv)
-- 'arrival' numbers conversations in the order they entered the site's queues.
redis.call('HSET', k_conv, 'arrival', queue_push(k_queue, conv, priority, false) - MIDDLE)
local dept = redis.call('HGET', k_conv, 'department')
kpi_count(k_kpi, now, 'created', dept, '', 1)
-- The key changed since the caller read it (another close, or another start): the customer's
-- last resolved chat is not the one the caller saw, and this start is not counted against it.
if resolved ~= '' and redis.call('GET', k_resolved) == resolved then
  -- The key's TTL is the window by Redis's clock; the window is checked by ours too.
  local closed_ms, rdept, ragent = string.match(resolved, '^(%d+)|([^|]*)|([^|]*)$')
  if closed_ms and tonumber(now) - tonumber(closed_ms) <= reopen_ms then
    kpi_count(k_closed_day, closed_ms, 'reopened', rdept, ragent, 1)
  end
  redis.call('DEL', k_resolved)
end
publish({t = 'queue', dept = dept})
return 1
