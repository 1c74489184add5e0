-- Recomputes one participant: the sweeper's expiry (due = 1: only if its
-- deadline has passed, so that several nodes sweeping the same bucket
-- append one offline event between them) and the always-online flag
-- (due = 0).
-- KEYS: d, dl, ev, n.  ARGV: pid, ttl_ms, always_online, MAXLEN, due.
-- Returns the raw state, or false when nothing was due.
local pid, ttl, always, maxlen, due =
  ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local now = now_ms()
if due == '1' then
  local deadline = redis.call('ZSCORE', KEYS[2], pid)
  if not deadline or tonumber(deadline) > now then return false end
end
return settle(KEYS, pid, now, ttl, always, maxlen)
