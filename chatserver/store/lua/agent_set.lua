-- agent_set.lua: an agent's chosen status or capacity changes.
-- KEYS: site keys (1-NK)
-- ARGV: 1 login, 2 now ms, 3 'status' | 'capacity', 4 the new value (validated by the caller)
-- Returns {'ok', previous value}
-- Invariant: the available set stays true to status, connection, load and capacity. Lowering
-- the capacity below the current load keeps the chats; no new one comes until load < capacity.
local login, now, what, value = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local previous
if what == 'status' then
  previous = redis.call('HGET', K_STATUS, login) or 'offline'
  redis.call('HSET', K_STATUS, login, value)
  if value == 'online' and previous ~= 'online' then redis.call('HSET', K_IDLE, login, now) end
  publish({t = 'agent', agent = login, status = value})
else
  previous = redis.call('HGET', K_CAP, login) or '0'
  redis.call('HSET', K_CAP, login, value)
  publish({t = 'agent', agent = login, capacity = tonumber(value)})
end
avail_refresh(login, now)
return {'ok', previous}
