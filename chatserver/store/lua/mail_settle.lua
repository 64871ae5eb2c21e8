-- mail_settle.lua: the end of one attempt at a mail the caller read from the outbox.
-- KEYS: 1 outbox stream, 2 later (sorted set), 3 dead (list), 4 the mail's key record
-- ARGV: 1 group, 2 stream id, 3 outcome 'sent' | 'retry' | 'dead', 4 mail JSON (with its
--       tries counted), 5 ms due again (retry), 6 ms the key record is kept
-- Returns 1 if the entry was still the caller's to settle, else 0 (another process claimed
-- and settled it: nothing changes).
-- Invariant: a mail is in exactly one of outbox, later or dead until it is sent, and a sent
-- one's key record says 'sent' (a late enqueue of the same key sends nothing).
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
local outcome = ARGV[3]
if outcome == 'sent' then
  redis.call('SET', KEYS[4], 'sent', 'PX', ARGV[6])
elseif outcome == 'retry' then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
else
  redis.call('LPUSH', KEYS[3], ARGV[4])
end
return 1
