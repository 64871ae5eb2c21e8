-- _lib.lua: helpers prepended to every site script when it is loaded (not a script itself).
--
-- Every site script receives the same first NK = 17 KEYS (all in the site's hash slot
-- {s:SITE}), in the order of chatserver.store.keys.site_keys(); script-specific KEYS follow
-- from KEYS[NK + 1].
local K_STATUS, K_CAP, K_LOAD, K_IDLE = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_PCOUNT, K_AVAIL, K_CONVS, K_DEPTS = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local K_LAST, K_STATS, K_SEQ, K_LEFT = KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local K_GRACE, K_PRESENCE, K_CHANNEL = KEYS[13], KEYS[14], KEYS[15]
local K_ONLINE, K_SESSIONS = KEYS[16], KEYS[17]
local NK = 17

local BAND = 1000000000000        -- routing.BAND
local MIDDLE = 500000000000       -- routing.MIDDLE
local LOAD_WEIGHT = 10000000000000 -- routing.LOAD_WEIGHT
local MAX_PRIORITY = 9

local function num(v) return tonumber(v) or 0 end
local function int(v) return string.format('%.0f', v) end

-- --- report rollups (chatserver/core/kpis.py documents the fields) ---------------------------
-- A script that counts sets KPI_KEEP (ms the day hashes are kept after their day) from its ARGV.
local HOUR_MS, DAY_MS = 3600000, 86400000
local KPI_KEEP = 0
local kpi_expiring = {}

local function kpi_field(t, name, dept, agent)
  return string.format('%02d', math.floor(t / HOUR_MS) % 24) .. '|' .. name .. '|' .. dept
    .. '|' .. agent
end

local function kpi_expire(k, t)
  if KPI_KEEP > 0 and not kpi_expiring[k] then
    kpi_expiring[k] = true
    redis.call('PEXPIREAT', k, int((math.floor(t / DAY_MS) + 1) * DAY_MS + KPI_KEEP))
  end
end

-- Count `by` of `name` at ms `t` in the day hash `k`: for the department, and for the agent
-- ('' or false: none).
local function kpi_count(k, t, name, dept, agent, by)
  t = tonumber(t)
  redis.call('HINCRBY', k, kpi_field(t, name, dept or '', ''), by)
  if agent and agent ~= '' then redis.call('HINCRBY', k, kpi_field(t, name, dept or '', agent), by) end
  kpi_expire(k, t)
end

-- Record a duration of `ms` (rounded to the whole second: core.kpis.seconds_of) in the
-- histogram `name` at ms `t`.
local function kpi_time(k, t, name, dept, agent, ms)
  local s = '|' .. int(math.floor(math.max(0, ms + 500) / 1000))
  t = tonumber(t)
  redis.call('HINCRBY', k, kpi_field(t, name, dept or '', '') .. s, 1)
  if agent and agent ~= '' then
    redis.call('HINCRBY', k, kpi_field(t, name, dept or '', agent) .. s, 1)
  end
  kpi_expire(k, t)
end

-- Keep K_ONLINE true to whether the agent is online and connected; a stretch online that
-- ends goes to K_SESSIONS (the reports' agent-hours).
local function online_refresh(login, now, online)
  local since = redis.call('HGET', K_ONLINE, login)
  if online and not since then
    redis.call('HSET', K_ONLINE, login, now)
  elseif since and not online then
    redis.call('HDEL', K_ONLINE, login)
    if tonumber(now) > tonumber(since) then
      redis.call('ZADD', K_SESSIONS, now, login .. '|' .. since .. '|' .. now)
    end
  end
end

-- Keep the agent's membership of the "available" set true to its state: online, connected,
-- load below capacity. The only place that writes K_AVAIL.
local function avail_refresh(login, now)
  local status = redis.call('HGET', K_STATUS, login)
  local cap = num(redis.call('HGET', K_CAP, login))
  local load = num(redis.call('HGET', K_LOAD, login))
  local conns = num(redis.call('HGET', K_PCOUNT, login))
  online_refresh(login, now, status == 'online' and conns > 0)
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
  avail_refresh(agent, now)
end

-- Give a conversation to an agent, counted in the day hash `kk`: an assignment, and for a
-- live chat's first agent the time it waited for one.
local function give(k_conv, conv, agent, now, kk)
  redis.call('ZADD', K_CONVS, 0, agent .. '\t' .. conv)
  redis.call('HINCRBY', K_LOAD, agent, 1)
  redis.call('HSET', K_IDLE, agent, now)
  redis.call('HSET', k_conv, 'state', 'assigned', 'agent', agent, 'agent_since', now)
  redis.call('HDEL', k_conv, 'not_agent')
  local f = redis.call('HMGET', k_conv, 'assigned_ms', 'department', 'created_ms', 'left_ms')
  kpi_count(kk, now, 'assigned', f[2], agent, 1)
  if not f[1] then
    redis.call('HSET', k_conv, 'assigned_ms', now)
    if not f[4] then kpi_time(kk, now, 'assign_wait', f[2], agent, now - num(f[3])) end
  end
  local customer = redis.call('HGET', k_conv, 'customer_key')
  if customer then redis.call('HSET', K_LAST, customer, agent) end
  avail_refresh(agent, now)
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
