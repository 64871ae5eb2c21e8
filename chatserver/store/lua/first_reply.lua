-- first_reply.lua: an agent's first message in a conversation: its time is recorded once.
-- KEYS: site keys (1-NK), NK+1 conv:ID, NK+2 kpi day of now
-- ARGV: 1 conversation id, 2 now ms, 3 the agent's login, 4 ms the kpi day is kept
-- Returns 1 if this was the first agent reply, else 0.
-- Invariants: first_reply_ms is set once; the wait it ends is counted once, in the same step:
-- from the start of a live chat, or from the moment a shopper left a message.
local k_conv, k_kpi = KEYS[NK + 1], KEYS[NK + 2]
local conv, now, agent = ARGV[1], ARGV[2], ARGV[3]
KPI_KEEP = tonumber(ARGV[4])
if redis.call('EXISTS', k_conv) == 0 then return 0 end
if redis.call('HSETNX', k_conv, 'first_reply_ms', now) == 0 then return 0 end
local f = redis.call('HMGET', k_conv, 'department', 'created_ms', 'left_ms')
if f[3] then
  kpi_time(k_kpi, now, 'left_reply', f[1], agent, tonumber(now) - tonumber(f[3]))
else
  kpi_time(k_kpi, now, 'reply_wait', f[1], agent, tonumber(now) - num(f[2]))
end
publish({t = 'updated', conv = conv})
return 1
