-- append.lua: add one entry to a conversation's transcript, once, and fan it out.
-- KEYS: 1 stream, 2 client-id index, 3 pub/sub channel (all in the slot {c:ID})
-- ARGV: 1 dedupe key ('' for none), 2 the entry as JSON
-- Returns {stream id, 1 if new else 0}
-- Invariants: one stream entry per dedupe key (a retry gets the first id back); the channel
-- receives entries in stream order, because XADD and PUBLISH happen in one atomic step.
local dedupe, entry = ARGV[1], ARGV[2]
if dedupe ~= '' then
  local existing = redis.call('HGET', KEYS[2], dedupe)
  if existing then return {existing, 0} end
end
local id = redis.call('XADD', KEYS[1], '*', 'e', entry)
if dedupe ~= '' then redis.call('HSET', KEYS[2], dedupe, id) end
redis.call('PUBLISH', KEYS[3], '{"id":"' .. id .. '","e":' .. entry .. '}')
return {id, 1}
