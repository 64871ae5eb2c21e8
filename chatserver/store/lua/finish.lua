-- finish.lua: end a conversation: closed (by either side) or abandoned (left the queue).
-- KEYS: site keys (1-15), 16 queue:DEPT of the conversation, 17 conv:ID, 18 inbox:DEPT
-- ARGV: 1 conversation id, 2 now ms, 3 final state ('closed' | 'abandoned'), 4 outcome,
--       5 department the caller read (to check KEYS[16] is still the right queue),
--       6 '1' to finish only a queued conversation (abandon), else '0'
-- Returns {'done', agent or ''} | {'not_open'} | {'retry'} (department changed meanwhile)
-- Invariants: the agent's load falls by exactly one; the rolling handle time of the department
-- is updated from this conversation's handle time; an ended conversation is in no queue or
-- inbox. A message left in the inbox ('left') is closed, never abandoned.
local k_queue, k_conv, k_inbox = KEYS[16], KEYS[17], KEYS[18]
local conv, now, final, outcome, dept, only_queued = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local state = redis.call('HGET', k_conv, 'state')
if state ~= 'queued' and state ~= 'assigned' and state ~= 'left' then return {'not_open'} end
if only_queued == '1' and state ~= 'queued' then return {'not_open'} end
if redis.call('HGET', k_conv, 'department') ~= dept then return {'retry'} end

local agent = redis.call('HGET', k_conv, 'agent') or ''
redis.call('ZREM', k_queue, conv)
redis.call('ZREM', K_LEFT, conv)
redis.call('ZREM', k_inbox, conv)
if state == 'assigned' and agent ~= '' then
  local since = num(redis.call('HGET', k_conv, 'agent_since'))
  local seconds = math.max(0, (tonumber(now) - since) / 1000)
  local field = 'handle:' .. dept
  local avg = tonumber(redis.call('HGET', K_STATS, field))
  if avg then avg = avg + 0.2 * (seconds - avg) else avg = seconds end
  redis.call('HSET', K_STATS, field, tostring(avg))
  unassign(k_conv, conv, agent, now)
end
redis.call('HSET', k_conv, 'state', final, 'closed_ms', now, 'outcome', outcome)
publish({t = final, conv = conv, agent = agent, dept = dept})
if state == 'queued' then publish({t = 'queue', dept = dept}) end
return {'done', agent}
