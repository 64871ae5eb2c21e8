-- login_attempt.lua: count a login attempt before its password is checked, or refuse it.
-- KEYS: 1 attempts of this login from this address, 2 attempts from this address (both hashes
--       in the address's slot {a:ADDRESS})
-- ARGV: 1 now ms, 2 free tries of a login from one address, 3 free tries of an address,
--       4 first delay ms, 5 longest delay of a login+address ms, 6 longest delay of an address ms,
--       7 ms of quiet after which the counts start over
-- Returns {1, 0}: go on (the attempt is counted), or {0, ms to wait}.
-- Invariants: attempts are counted atomically before any password check, so N parallel
-- attempts get at most the free tries through; past them, each next try waits twice as long
-- (up to its cap) instead of a hard lock: the right password from another address gets in.
local now, window = tonumber(ARGV[1]), tonumber(ARGV[7])
local base = tonumber(ARGV[4])

local function wait_of(key)
  local until_ms = tonumber(redis.call('HGET', key, 'until') or '0')
  if until_ms > now then return until_ms - now end
  return 0
end

local function count(key, free, longest)
  local tries = redis.call('HINCRBY', key, 'tries', 1)
  if tries >= free then
    local delay = math.min(base * 2 ^ (tries - free), longest)
    redis.call('HSET', key, 'until', string.format('%.0f', now + delay))
  end
  redis.call('PEXPIRE', key, window)
end

local wait = math.max(wait_of(KEYS[1]), wait_of(KEYS[2]))
if wait > 0 then return {0, wait} end
count(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[5]))
count(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[6]))
return {1, 0}
