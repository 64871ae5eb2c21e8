-- assign.lua: give the conversation at the head of a department's queue to an agent.
-- KEYS: site keys (1-NK), NK+1 queue:DEPT, NK+2 conv:ID, NK+3 kpi day of now
-- ARGV: 1 conversation id (the head the caller saw), 2 now ms, 3 ms the kpi day is kept
-- Returns {'assigned', login} | {'none'} (nobody has room) | {'stale'} (no longer the head).
-- Invariants: the agent chosen is online, connected and below capacity, and serves the
-- department; the conversation leaves the queue exactly once; only the head is ever taken;
-- the assignment (and a first one's wait) is counted in the same step.
local k_queue, k_conv, k_kpi = KEYS[NK + 1], KEYS[NK + 2], KEYS[NK + 3]
local conv, now = ARGV[1], ARGV[2]
KPI_KEEP = tonumber(ARGV[3])
local head = redis.call('ZRANGE', k_queue, 0, 0)[1]
if head ~= conv then return {'stale'} end
if redis.call('HGET', k_conv, 'state') ~= 'queued' then
  -- A queue entry whose conversation is not queued is debris: drop it, or the queue stalls.
  redis.call('ZREM', k_queue, conv)
  return {'stale'}
end
local dept = redis.call('HGET', k_conv, 'department')

-- An agent who handed this conversation to a department does not get it back.
local excluded = redis.call('HGET', k_conv, 'not_agent') or ''
local chosen = nil
local customer = redis.call('HGET', k_conv, 'customer_key')
if customer then
  local previous = redis.call('HGET', K_LAST, customer)
  if previous and previous ~= excluded and redis.call('ZSCORE', K_AVAIL, previous)
      and has_dept(previous, dept) then
    chosen = previous
  end
end
if not chosen then
  -- K_AVAIL is ordered least loaded, then idle longest; ties broken by login (member order).
  -- Read a window at a time: the first agents usually serve the department, and reading all
  -- of a 1,000-agent site for every assignment cost ~100 us of Redis each.
  local from = 0
  repeat
    local window = redis.call('ZRANGE', K_AVAIL, from, from + 31)
    for _, login in ipairs(window) do
      if login ~= excluded and has_dept(login, dept) then chosen = login; break end
    end
    from = from + 32
  until chosen or #window < 32
end
if not chosen then return {'none'} end

redis.call('ZREM', k_queue, conv)
redis.call('ZREM', K_LEFT, conv)
give(k_conv, conv, chosen, now, k_kpi)
publish({t = 'assigned', conv = conv, agent = chosen, dept = dept})
return {'assigned', chosen}
