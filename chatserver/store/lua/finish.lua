-- finish.lua: end a conversation: closed (by either side) or abandoned (left the queue).
-- KEYS: site keys (1-NK), NK+1 queue:DEPT of the conversation, NK+2 conv:ID, NK+3 inbox:DEPT,
--       NK+4 kpi day of now, NK+5 kpi:resolved of the conversation's customer
-- ARGV: 1 conversation id, 2 now ms, 3 final state ('closed' | 'abandoned'), 4 outcome,
--       5 department the caller read (to check KEYS[NK+1] is still the right queue),
--       6 '1' to finish only a queued conversation (abandon), else '0',
--       7 ms the kpi day is kept, 8 '1' if the outcome counts as resolved, 9 the reopen window ms
-- Returns {'done', agent or ''} | {'not_open'} | {'retry'} (department changed meanwhile)
-- Invariants: the agent's load falls by exactly one; the rolling handle time of the department
-- is updated from this conversation's handle time; an ended conversation is in no queue or
-- inbox. A message left in the inbox ('left') is closed, never abandoned. The end is counted
-- once, in the same step: abandoned (never had an agent), a left message closed unanswered,
-- or a served chat closed (with its outcome, handle time and number of transfers).
local k_queue, k_conv, k_inbox = KEYS[NK + 1], KEYS[NK + 2], KEYS[NK + 3]
local k_kpi, k_resolved = KEYS[NK + 4], KEYS[NK + 5]
local conv, now, final, outcome, dept, only_queued = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
KPI_KEEP = tonumber(ARGV[7])
local resolved, reopen_ms = ARGV[8], tonumber(ARGV[9])
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
local f = redis.call('HMGET', k_conv, 'assigned_ms', 'transfers')
if f[1] then
  kpi_count(k_kpi, now, 'closed', dept, agent, 1)
  kpi_count(k_kpi, now, 'o:' .. (outcome ~= '' and outcome or 'none'), dept, agent, 1)
  kpi_time(k_kpi, now, 'handle', dept, agent, tonumber(now) - tonumber(f[1]))
  if f[2] then kpi_count(k_kpi, now, 'xfers', dept, agent, tonumber(f[2])) end
  if resolved == '1' and reopen_ms > 0 then
    redis.call('SET', k_resolved, now .. '|' .. dept .. '|' .. agent, 'PX', int(reopen_ms))
  end
elseif state == 'left' then
  kpi_count(k_kpi, now, 'left_closed', dept, '', 1)
else
  kpi_count(k_kpi, now, 'abandoned', dept, '', 1)
end
redis.call('HSET', k_conv, 'state', final, 'closed_ms', now, 'outcome', outcome)
publish({t = final, conv = conv, agent = agent, dept = dept})
if state == 'queued' then publish({t = 'queue', dept = dept}) end
return {'done', agent}
