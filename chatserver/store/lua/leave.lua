-- leave.lua: the shopper of a queued conversation left a message: it leaves the department's
-- live queue for the department's offline inbox, where an agent takes it by hand.
-- KEYS: site keys (1-15), 16 queue:DEPT, 17 inbox:DEPT, 18 conv:ID
-- ARGV: 1 conversation id, 2 now ms, 3 department the caller read (to check KEYS[16-17])
-- Returns {'left'} | {'not_queued'} (assigned meanwhile, already left, or ended) | {'retry'}
-- Invariants: a conversation is in state 'left' exactly while it is in its department's inbox,
-- and then in no queue and never marked for abandonment; the positions of the shoppers behind
-- it move up at once (the 'queue' event).
local k_queue, k_inbox, k_conv = KEYS[16], KEYS[17], KEYS[18]
local conv, now, dept = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HGET', k_conv, 'state') ~= 'queued' then return {'not_queued'} end
if redis.call('HGET', k_conv, 'department') ~= dept then return {'retry'} end

redis.call('ZREM', k_queue, conv)
redis.call('ZREM', K_LEFT, conv)
redis.call('ZADD', k_inbox, now, conv)
redis.call('HSET', k_conv, 'state', 'left', 'left_ms', now)
publish({t = 'left', conv = conv, dept = dept})
publish({t = 'queue', dept = dept})
return {'left'}
