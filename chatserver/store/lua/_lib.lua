-- _lib.lua: helpers prepended to every site script when it is loaded (not a script itself).
--
-- Every site script receives the same first 15 KEYS (all in the site's hash slot {s:SITE}),
-- in the order of chatserver.store.keys.site_keys(); script-specific KEYS follow from KEYS[16].
local K_STATUS, K_CAP, K_LOAD, K_IDLE = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_PCOUNT, K_AVAIL, K_CONVS, K_DEPTS = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local K_LAST, K_STATS, K_SEQ, K_LEFT = KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local K_GRACE, K_PRESENCE, K_CHANNEL = KEYS[13], KEYS[14], KEYS[15]

local BAND = 1000000000000        -- routing.BAND
local MIDDLE = 500000000000       -- routing.MIDDLE
local LOAD_WEIGHT = 10000000000000 -- routing.LOAD_WEIGHT
local MAX_PRIORITY = 9

local function num(v) return tonumber(v) or 0 end
local function int(v) return string.format('%.0f', v) end

-- Keep the agent's membership of the "available" set true to its state: online, connected,
-- load below capacity. The only place that writes K_AVAIL.
local function avail_refresh(login)
  local status = redis.call('HGET', K_STATUS, login)
  local cap = num(redis.call('HGET', K_CAP, login))
  local load = num(redis.call('HGET', K_LOAD, login))
  local conns = num(redis.call('HGET', K_PCOUNT, login))
  if status == 'online' and conns > 0 and load < cap then
    local idle = num(redis.call('HGET', K_IDLE, login))
    redis.call('ZADD', K_AVAIL, int(load * LOAD_WEIGHT + idle), login)
  else
    redis.call('ZREM', K_AVAIL, login)
  end
end

local function has_dept(login, dept)
  local depts = redis.call('HGET', K_DEPTS, login) or ''
  for d in string.gmatch(depts, '[^,]+') do
    if d == dept then return true end
  end
  return false
end

-- Put a conversation in its department's queue: at the back (FIFO within priority) or at the
-- front of its priority band (handed back after a disconnect, or transferred to a department).
local function queue_push(k_queue, conv, priority, front)
  local seq
  if front then
    seq = MIDDLE - redis.call('HINCRBY', K_SEQ, 'front', 1)
  else
    seq = MIDDLE + redis.call('HINCRBY', K_SEQ, 'back', 1)
  end
  redis.call('ZADD', k_queue, int((MAX_PRIORITY - priority) * BAND + seq), conv)
  return seq
end

-- Take a conversation away from its agent (close, transfer, requeue).
local function unassign(k_conv, conv, agent, now)
  local member = agent .. '\t' .. conv
  if redis.call('ZREM', K_CONVS, member) == 1 then
    redis.call('HINCRBY', K_LOAD, agent, -1)
  end
  avail_refresh(agent)
end

local function give(k_conv, conv, agent, now)
  redis.call('ZADD', K_CONVS, 0, agent .. '\t' .. conv)
  redis.call('HINCRBY', K_LOAD, agent, 1)
  redis.call('HSET', K_IDLE, agent, now)
  redis.call('HSET', k_conv, 'state', 'assigned', 'agent', agent, 'agent_since', now)
  redis.call('HDEL', k_conv, 'not_agent')
  if not redis.call('HGET', k_conv, 'assigned_ms') then
    redis.call('HSET', k_conv, 'assigned_ms', now)
  end
  local customer = redis.call('HGET', k_conv, 'customer_key')
  if customer then redis.call('HSET', K_LAST, customer, agent) end
  avail_refresh(agent)
end

local function publish(event)
  redis.call('PUBLISH', K_CHANNEL, cjson.encode(event))
end

local function agent_chats(login)
  local out = {}
  local members = redis.call('ZRANGEBYLEX', K_CONVS, '[' .. login .. '\t', '(' .. login .. '\t\255')
  for i, m in ipairs(members) do out[i] = string.sub(m, #login + 2) end
  return out
end
