-- append.lua: add one entry to a conversation's transcript, once, and fan it out.
-- KEYS: 1 stream, 2 client-id index, 3 pub/sub channel, 4 the sender's rate bucket (hash)
--       (all in the slot {c:ID})
-- ARGV: 1 dedupe key ('' for none: a system event), 2 the entry as JSON,
--       3 ms the stream and index are kept after this append (0: forever),
--       4 most entries the stream may hold for what clients send (0: no limit),
--       5 the sender's messages per second (0: no limit), 6 the sender's burst
-- Returns {stream id, 1 if new else 0}, or {'', 0, 'full' | 'rate'} when refused.
-- Invariants: one stream entry per dedupe key (a retry gets the first id back, free of charge);
-- the channel receives entries in stream order, because XADD and PUBLISH happen in one atomic
-- step; a sender's bucket lives in Redis, so reconnecting never refills it; system events are
-- never refused (a full conversation can still be closed).
local dedupe, entry = ARGV[1], ARGV[2]
local keep, most = tonumber(ARGV[3]), tonumber(ARGV[4])
local rate, burst = tonumber(ARGV[5]), tonumber(ARGV[6])

local function take_token()
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local state = redis.call('HMGET', KEYS[4], 'tokens', 'at')
  local tokens, at = tonumber(state[1]) or burst, tonumber(state[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
  local ok = tokens >= 1
  if ok then tokens = tokens - 1 end
  redis.call('HSET', KEYS[4], 'tokens', tostring(tokens), 'at', now)
  redis.call('PEXPIRE', KEYS[4], math.ceil(burst / rate * 1000) + 1000)
  return ok
end

if dedupe ~= '' then
  local existing = redis.call('HGET', KEYS[2], dedupe)
  if existing then return {existing, 0} end
  if most > 0 and redis.call('XLEN', KEYS[1]) >= most then return {'', 0, 'full'} end
  if rate > 0 and not take_token() then return {'', 0, 'rate'} end
end
local id = redis.call('XADD', KEYS[1], '*', 'e', entry)
if dedupe ~= '' then redis.call('HSET', KEYS[2], dedupe, id) end
if keep > 0 then
  redis.call('PEXPIRE', KEYS[1], keep)
  redis.call('PEXPIRE', KEYS[2], keep)
end
redis.call('PUBLISH', KEYS[3], '{"id":"' .. id .. '","e":' .. entry .. '}')
return {id, 1}
