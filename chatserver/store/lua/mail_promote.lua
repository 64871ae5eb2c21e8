-- mail_promote.lua: mails whose retry is due go back into the outbox.
-- KEYS: 1 later (sorted set), 2 outbox stream
-- ARGV: 1 now ms, 2 at most this many
-- Returns how many were moved.
-- Invariant: a mail moves as a whole (removed from `later` and added to the outbox together).
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, mail in ipairs(due) do
  redis.call('ZREM', KEYS[1], mail)
  redis.call('XADD', KEYS[2], '*', 'm', mail)
end
return #due
