-- transfer.lua: move an assigned conversation to a named agent, or to the front of a
-- department's queue.
-- KEYS: site keys (1-NK), NK+1 queue:TARGET_DEPT (any queue key when to an agent), NK+2 conv:ID,
--       NK+3 kpi day of now
-- ARGV: 1 conversation id, 2 now ms, 3 target agent login or '', 4 target department or '',
--       5 the agent transferring it ('' for a supervisor acting on anyone's chat),
--       6 ms the kpi day is kept
-- Returns {'moved', from, to_agent_or_''} | {'not_assigned'} | {'not_yours'} | {'no_room'}
--       | {'same_agent'}
-- Invariants: the target agent never goes above capacity; the conversation is with exactly one
-- agent or in exactly one queue afterwards; a transfer that happens is counted once (for the
-- department and agent it leaves, and on the conversation, for its transfers per chat).
local k_queue, k_conv, k_kpi = KEYS[NK + 1], KEYS[NK + 2], KEYS[NK + 3]
local conv, now, to_agent, to_dept, by = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
KPI_KEEP = tonumber(ARGV[6])
if redis.call('HGET', k_conv, 'state') ~= 'assigned' then return {'not_assigned'} end
local from = redis.call('HGET', k_conv, 'agent')
if by ~= '' and by ~= from then return {'not_yours'} end
if to_agent == from then return {'same_agent'} end
if to_agent ~= '' and not redis.call('ZSCORE', K_AVAIL, to_agent) then return {'no_room'} end

kpi_count(k_kpi, now, 'transfers', redis.call('HGET', k_conv, 'department'), from, 1)
redis.call('HINCRBY', k_conv, 'transfers', 1)
if to_agent ~= '' then
  unassign(k_conv, conv, from, now)
  give(k_conv, conv, to_agent, now, k_kpi)
  publish({t = 'transferred', conv = conv, from = from, agent = to_agent})
  return {'moved', from, to_agent}
end
unassign(k_conv, conv, from, now)
-- The queue prefers the customer's last agent: forget it, or the chat comes straight back.
local customer = redis.call('HGET', k_conv, 'customer_key')
if customer and redis.call('HGET', K_LAST, customer) == from then
  redis.call('HDEL', K_LAST, customer)
end
local priority = num(redis.call('HGET', k_conv, 'priority'))
redis.call('HSET', k_conv, 'state', 'queued', 'agent', '', 'department', to_dept,
  'not_agent', from)
queue_push(k_queue, conv, priority, true)
publish({t = 'transferred', conv = conv, from = from, agent = '', dept = to_dept})
publish({t = 'queue', dept = to_dept})
return {'moved', from, ''}
