-- sweep.lua: the periodic backstop run by every process (idempotent, cheap when idle).
-- Expires stale presence entries (a killed process never said goodbye), starts the grace period
-- of agents left with no connection, and reports what is due.
-- KEYS: site keys (1-NK)
-- ARGV: 1 now ms, 2 grace deadline ms for agents who lose their last connection now
-- Returns {logins whose grace is over, conversation ids whose shopper left the queue too long}
local now, deadline = ARGV[1], ARGV[2]
local stale = redis.call('ZRANGEBYSCORE', K_PRESENCE, '-inf', now, 'WITHSCORES')
for i = 1, #stale, 2 do
  local member = stale[i]
  redis.call('ZREM', K_PRESENCE, member)
  local login = string.match(member, '^(.-)\t')
  if redis.call('HINCRBY', K_PCOUNT, login, -1) <= 0 then
    redis.call('HDEL', K_PCOUNT, login)
    redis.call('ZADD', K_GRACE, 'NX', deadline, login)
    -- Its time online ended when the connection stopped heartbeating (at the latest), not
    -- when a sweep noticed: a stopped deployment does not count as agent time.
    avail_refresh(login, math.min(tonumber(now), tonumber(stale[i + 1])))
  end
end
local expired = {}
for _, login in ipairs(redis.call('ZRANGEBYSCORE', K_GRACE, '-inf', now)) do
  if num(redis.call('HGET', K_PCOUNT, login)) > 0 then
    redis.call('ZREM', K_GRACE, login)
  else
    expired[#expired + 1] = login
  end
end
return {expired, redis.call('ZRANGEBYSCORE', K_LEFT, '-inf', now)}
