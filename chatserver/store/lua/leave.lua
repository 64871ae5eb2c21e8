-- leave.lua: the shopper of a queued conversation left a message: it leaves the department's
-- live queue for the department's offline inbox, where an agent takes it by hand.
-- KEYS: site keys (1-NK), NK+1 queue:DEPT, NK+2 inbox:DEPT, NK+3 conv:ID, NK+4 kpi day of now
-- ARGV: 1 conversation id, 2 now ms, 3 department the caller read (to check NK+1, NK+2),
--       4 ms the kpi day is kept
-- Returns {'left'} | {'not_queued'} (assigned meanwhile, already left, or ended) | {'retry'}
-- Invariants: a conversation is in state 'left' exactly while it is in its department's inbox,
-- and then in no queue and never marked for abandonment; the positions of the shoppers behind
-- it move up at once (the 'queue' event).
local k_queue, k_inbox, k_conv, k_kpi = KEYS[NK + 1], KEYS[NK + 2], KEYS[NK + 3], KEYS[NK + 4]
local conv, now, dept = ARGV[1], ARGV[2], ARGV[3]
KPI_KEEP = tonumber(ARGV[4])
if redis.call('HGET', k_conv, 'state') ~= 'queued' then return {'not_queued'} end
if redis.call('HGET', k_conv, 'department') ~= dept then return {'retry'} end

redis.call('ZREM', k_queue, conv)
redis.call('ZREM', K_LEFT, conv)
redis.call('ZADD', k_inbox, now, conv)
redis.call('HSET', k_conv, 'state', 'left', 'left_ms', now)
kpi_count(k_kpi, now, 'left', dept, '', 1)
publish({t = 'left', conv = conv, dept = dept})
publish({t = 'queue', dept = dept})
return {'left'}
