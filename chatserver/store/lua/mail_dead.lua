-- mail_dead.lua: an operator retries or drops one mail of the dead-letter list.
-- KEYS: 1 dead (list), 2 outbox stream, 3 the mail's key record
-- ARGV: 1 the list item exactly as listed, 2 'retry' | 'drop', 3 the mail JSON to queue again
--       (its tries back at 0), 4 ms the key record is kept
-- Returns 1 if the item was still in the list (and is now retried or dropped), else 0
-- (another operator or process did it first: nothing changes).
-- Invariant: a dead mail leaves the list once, and a retried one is back in the outbox with
-- its key record 'queued' (the worker's was_sent check finds it unsent).
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
if ARGV[2] == 'retry' then
  redis.call('SET', KEYS[3], 'queued', 'PX', ARGV[4])
  redis.call('XADD', KEYS[2], '*', 'm', ARGV[3])
end
return 1
