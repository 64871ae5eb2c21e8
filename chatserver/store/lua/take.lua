-- take.lua: an agent takes a conversation out of their department's offline inbox.
-- KEYS: site keys (1-NK), NK+1 inbox:DEPT, NK+2 conv:ID, NK+3 kpi day of now
-- ARGV: 1 conversation id, 2 now ms, 3 the agent's login, 4 '1' if they may take from any
--       department (supervisors, admins), else '0', 5 ms the kpi day is kept
-- Returns {'taken', department} | {'not_in_inbox'} (taken by someone else, closed, never left)
--       | {'wrong_department'} | {'unavailable'} (offline or not connected) | {'no_room'}
-- Invariants: as for assign.lua, the agent never goes above capacity and a conversation is
-- given once (N agents racing for it: exactly one gets it); the agent is online or away (a
-- deliberate take, unlike automatic routing which needs online) and connected.
local k_inbox, k_conv, k_kpi = KEYS[NK + 1], KEYS[NK + 2], KEYS[NK + 3]
local conv, now, login, any_dept = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
KPI_KEEP = tonumber(ARGV[5])
if not redis.call('ZSCORE', k_inbox, conv) or redis.call('HGET', k_conv, 'state') ~= 'left' then
  return {'not_in_inbox'}
end
local dept = redis.call('HGET', k_conv, 'department')
if any_dept ~= '1' and not has_dept(login, dept) then return {'wrong_department'} end
local status = redis.call('HGET', K_STATUS, login)
if (status ~= 'online' and status ~= 'away') or num(redis.call('HGET', K_PCOUNT, login)) <= 0 then
  return {'unavailable'}
end
if num(redis.call('HGET', K_LOAD, login)) >= num(redis.call('HGET', K_CAP, login)) then
  return {'no_room'}
end

redis.call('ZREM', k_inbox, conv)
give(k_conv, conv, login, now, k_kpi)
publish({t = 'assigned', conv = conv, agent = login, dept = dept})
return {'taken', dept}
