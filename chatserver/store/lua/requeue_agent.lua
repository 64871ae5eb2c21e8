-- requeue_agent.lua: hand all of an agent's conversations back to the front of their queues
-- (grace period over, or the agent went offline), oldest first, and mark the agent offline.
-- KEYS: site keys (1-NK), then for each conversation i (1..n): queue:DEPT_i, conv:ID_i; last,
--       the kpi day of now
-- ARGV: 1 login, 2 now ms, 3 n, 4 '1' to act only if the agent is still disconnected with an
--       expired grace (the sweeper) or '0' to act now (going offline), 5.. n conversation ids,
--       then their n departments as the caller read them, last ms the kpi day is kept
-- Returns {'requeued', n} | {'retry'} (the agent's conversations changed) | {'skip'}
-- Invariant: no conversation stays with an offline agent; each is queued exactly once (and
-- counted as requeued once, for the agent it leaves).
local login, now, n, only_expired = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local k_kpi = KEYS[#KEYS]
KPI_KEEP = tonumber(ARGV[#ARGV])
if only_expired == '1' then
  local deadline = redis.call('ZSCORE', K_GRACE, login)
  if not deadline or tonumber(deadline) > tonumber(now) then return {'skip'} end
  if num(redis.call('HGET', K_PCOUNT, login)) > 0 then
    redis.call('ZREM', K_GRACE, login)
    return {'skip'}
  end
end
local current = agent_chats(login)
if #current ~= n then return {'retry'} end
local given = {}
for i = 1, n do given[ARGV[4 + i]] = i end
for _, conv in ipairs(current) do
  local i = given[conv]
  if not i or redis.call('HGET', KEYS[NK + 2 * i], 'department') ~= ARGV[4 + n + i] then
    return {'retry'}
  end
end
-- Each front push goes ahead of the previous one: push the newest first, so that the chats
-- keep their order (oldest first) at the front of the queue.
local order = {}
for i = 1, n do
  order[i] = {i = i, conv = ARGV[4 + i], arrival = num(redis.call('HGET', KEYS[NK + 2 * i], 'arrival'))}
end
table.sort(order, function(a, b)
  if a.arrival ~= b.arrival then return a.arrival > b.arrival end
  return a.conv > b.conv
end)
local depts = {}
for _, item in ipairs(order) do
  local i = item.i
  local conv, k_queue, k_conv = ARGV[4 + i], KEYS[NK - 1 + 2 * i], KEYS[NK + 2 * i]
  redis.call('ZREM', K_CONVS, login .. '\t' .. conv)
  local priority = num(redis.call('HGET', k_conv, 'priority'))
  redis.call('HSET', k_conv, 'state', 'queued', 'agent', '')
  queue_push(k_queue, conv, priority, true)
  local dept = redis.call('HGET', k_conv, 'department')
  kpi_count(k_kpi, now, 'requeued', dept, login, 1)
  depts[dept] = true
  publish({t = 'requeued', conv = conv, from = login, dept = dept})
end
redis.call('HSET', K_LOAD, login, 0)
redis.call('HSET', K_STATUS, login, 'offline')
redis.call('ZREM', K_GRACE, login)
avail_refresh(login, now)
for dept, _ in pairs(depts) do publish({t = 'queue', dept = dept}) end
publish({t = 'agent', agent = login, status = 'offline'})
return {'requeued', n}
