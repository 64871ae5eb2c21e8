-- enqueue.lua: create a conversation and put it at the back of its department's queue.
-- KEYS: site keys (1-15), 16 queue:DEPT, 17 conv:ID, 18 visitor:VISITOR
-- ARGV: 1 conversation id, 2 now ms, 3 priority, then field/value pairs of the conversation
-- Invariant: a conversation is created once (a second call with the same id changes nothing).
local k_queue, k_conv, k_visitor = KEYS[16], KEYS[17], KEYS[18]
local conv, now, priority = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('EXISTS', k_conv) == 1 then return 0 end
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', k_conv, 'state', 'queued', 'priority', priority, 'created_ms', now,
  'epoch', 1, unpack(fields))
redis.call('ZADD', k_visitor, now, conv)
-- 'arrival' numbers conversations in the order they entered the site's queues.
redis.call('HSET', k_conv, 'arrival', queue_push(k_queue, conv, priority, false) - MIDDLE)
publish({t = 'queue', dept = redis.call('HGET', k_conv, 'department')})
return 1
