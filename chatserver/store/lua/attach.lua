-- attach.lua: record an uploaded file of a conversation, once per sender and client message id,
-- within the conversation's byte limit.
-- KEYS: 1 attachment records (hash), 2 upload dedupe index (hash), 3 stored bytes (counter)
--       (all in the slot {c:ID})
-- ARGV: 1 dedupe key 'sender|client message id', 2 attachment id, 3 the record as JSON,
--       4 its bytes (file and thumbnail), 5 most bytes the conversation may hold (0: no limit),
--       6 ms the keys are kept after this upload (0: forever)
-- Returns {attachment id, 1} when recorded, {the first attachment id, 0} for a retry, or
-- {'', 0, 'full'} when the conversation would hold more than its limit.
-- Invariants: one record per dedupe key; the counter is the sum of the recorded sizes.
local dedupe, id, record = ARGV[1], ARGV[2], ARGV[3]
local size, most, keep = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])

local existing = redis.call('HGET', KEYS[2], dedupe)
if existing then return {existing, 0} end
local stored = tonumber(redis.call('GET', KEYS[3]) or '0')
if most > 0 and stored + size > most then return {'', 0, 'full'} end
redis.call('HSET', KEYS[1], id, record)
redis.call('HSET', KEYS[2], dedupe, id)
redis.call('INCRBY', KEYS[3], size)
if keep > 0 then
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], keep) end
end
return {id, 1}
