-- record_put.lua: store a record the store pushed (a customer, an order), once per version.
-- KEYS: 1 the record's hash {json, updated_ms, owner}; 2 (optional) its owner's index, a
--       sorted set (all in the site's slot {s:SITE})
-- ARGV: 1 updated ms, 2 the record as JSON, 3 owner ('' for none), 4 index member, 5 index score
-- Returns 'stored', 'unchanged' (not newer than what is stored) or 'conflict' (another owner).
-- Invariants: a record only moves forward in time, so pushes may be retried, repeated and
-- reordered freely; a record never changes owner (an order stays with its customer).
local old = redis.call('HMGET', KEYS[1], 'updated_ms', 'owner')
if old[1] and tonumber(old[1]) >= tonumber(ARGV[1]) then return 'unchanged' end
if old[2] and old[2] ~= ARGV[3] then return 'conflict' end
redis.call('HSET', KEYS[1], 'updated_ms', ARGV[1], 'json', ARGV[2], 'owner', ARGV[3])
if #KEYS > 1 then redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4]) end
return 'stored'
