-- mail_enqueue.lua: put a mail in the outbox once per idempotency key.
-- KEYS: 1 the mail's key record (mail_key), 2 the outbox stream, 3 the thread record of the
--       mail's conversation (conversation -> site; replies to the mail find it by it)
-- ARGV: 1 mail JSON, 2 ms the key record is kept, 3 site ('' for no thread), 4 ms the thread
--       record is kept
-- Returns the stream id, or false if the key was queued (or sent) already.
-- Invariant: a key enters the outbox at most once while its record lives.
if not redis.call('SET', KEYS[1], 'queued', 'NX', 'PX', ARGV[2]) then return false end
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4]) end
return redis.call('XADD', KEYS[2], '*', 'm', ARGV[1])
