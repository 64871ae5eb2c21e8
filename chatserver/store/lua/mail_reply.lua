-- mail_reply.lua: settle a leased conversation: queue the mail of its unseen agents' lines (if
-- any) and move its mailed-up-to mark, once.
-- KEYS: 1 leased (sorted set), 2 the conversation's mailed-up-to mark, 3 the mail's key record,
--       4 outbox stream, 5 the conversation's thread record (conversation -> site)
-- ARGV: 1 member, 2 the lease's end (as leased), 3 the mark the caller read ('' none),
--       4 the new mark ('' to keep it), 5 mail JSON ('' none), 6 ms the key record is kept,
--       7 site, 8 ms the mark and the thread record are kept
-- Returns 1 if settled, 0 if the mark moved since the caller read it (another process mailed
-- these lines: nothing changes).
-- Invariant: an agent's line is in one queued mail at most (the mark only moves forward, and
-- only from the value the mail's lines were read after).
local mark = redis.call('GET', KEYS[2]) or ''
if mark ~= ARGV[3] then return 0 end
if ARGV[5] ~= '' then
  if redis.call('SET', KEYS[3], 'queued', 'NX', 'PX', ARGV[6]) then
    redis.call('XADD', KEYS[4], '*', 'm', ARGV[5])
  end
  redis.call('SET', KEYS[5], ARGV[7], 'PX', ARGV[8])
end
if ARGV[4] ~= '' then redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[8]) end
local lease = redis.call('ZSCORE', KEYS[1], ARGV[1])
if lease and tonumber(lease) == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]) end
return 1
