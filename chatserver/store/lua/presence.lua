-- presence.lua: an agent's connections come and go.
-- KEYS: site keys (1-NK)
-- ARGV: 1 'touch' | 'drop', 2 now ms, 3 deadline ms (touch: heartbeat expiry; drop: end of the
--       grace period), then pairs of (login, connection id)
-- Returns the logins whose availability may have grown (to serve their queues).
-- Invariants: presence_count[login] = number of live presence entries of login; an agent with
-- no live connection is not available and, if they hold chats or are not offline, is in grace.
local op, now, deadline = ARGV[1], ARGV[2], ARGV[3]
local woke = {}
for i = 4, #ARGV, 2 do
  local login, member = ARGV[i], ARGV[i] .. '\t' .. ARGV[i + 1]
  if op == 'touch' then
    if redis.call('ZADD', K_PRESENCE, deadline, member) == 1 then
      if redis.call('HINCRBY', K_PCOUNT, login, 1) == 1 then
        redis.call('ZREM', K_GRACE, login)
        avail_refresh(login, now)
        woke[#woke + 1] = login
      end
    end
  elseif redis.call('ZREM', K_PRESENCE, member) == 1 then
    if redis.call('HINCRBY', K_PCOUNT, login, -1) <= 0 then
      redis.call('HDEL', K_PCOUNT, login)
      redis.call('ZADD', K_GRACE, 'NX', deadline, login)
      avail_refresh(login, now)
    end
  end
end
return woke
