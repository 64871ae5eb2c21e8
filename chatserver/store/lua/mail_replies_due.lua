-- mail_replies_due.lua: lease the conversations whose agents' lines are due to be mailed.
-- KEYS: 1 replies (sorted set: 'SITE CONV' -> ms due), 2 leased (sorted set: -> ms lease ends)
-- ARGV: 1 now ms, 2 ms the lease ends, 3 at most this many
-- Returns the members leased to the caller: due ones, and ones whose lease ended (the process
-- that held them died). A member leased to another process and due again meanwhile stays due
-- until that lease is settled or ends.
-- Invariant: a member is leased to one caller at a time.
local out = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do
  redis.call('ZADD', KEYS[2], ARGV[2], m)
  table.insert(out, m)
end
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do
  if not redis.call('ZSCORE', KEYS[2], m) then
    redis.call('ZREM', KEYS[1], m)
    redis.call('ZADD', KEYS[2], ARGV[2], m)
    table.insert(out, m)
  end
end
return out
