-- A heartbeat (upsert) of one device: one HGETALL, one HSET, ZADD and
-- PEXPIRE in the common case (measured cost: bench/redis-compare.py).
-- KEYS: d, dl, ev, n of the participant's bucket.
-- ARGV: pid, instance, state, session, seq, details, ttl_ms, always_online
--       (1/0), may_add (1/0: the node's view of the server-wide cap),
--       max instances per participant, stream MAXLEN.
-- Returns { outcome, raw state }: outcome is "applied", "added" (a new
-- instance), "stale", "too_many" or "full"; only applied/added change anything.
local pid, inst, st, session, seq, details =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local ttl, always, may_add, max_inst, maxlen =
  tonumber(ARGV[7]), ARGV[8], ARGV[9], tonumber(ARGV[10]), ARGV[11]
local now = now_ms()
local f = redis.call('HGETALL', KEYS[1])
local cur, current, devices = nil, 'f', {}
for k = 1, #f, 2 do
  if f[k] == '_' then
    current = string.sub(f[k + 1], 1, 1)
  else
    devices[#devices + 1] = f[k + 1]
    if f[k] == inst then cur = f[k + 1] end
  end
end
local retired = ''
local outcome = 'applied'

if cur then
  local _, _, cur_seq, cur_retired, cur_session = parse(cur)
  if cur_session == session then
    if not seq_newer(seq, cur_seq) then return { 'stale', current } end
    retired = cur_retired
  else
    -- A new agent run replaces the live one; the replaced run's late
    -- heartbeats stay ignored.
    if cur_retired ~= '' and cur_retired == session_hash(session) then
      return { 'stale', current }
    end
    retired = session_hash(cur_session)
  end
else
  if #devices >= max_inst then
    -- Dead devices the sweeper has not reached yet do not count.
    local live = 0
    for _, v in ipairs(devices) do
      if tonumber(string.match(v, '^%a\31(%d+)')) + ttl > now then live = live + 1 end
    end
    if live >= max_inst then return { 'too_many', current } end
  end
  if may_add ~= '1' then return { 'full', current } end
  redis.call('HINCRBY', KEYS[4], 'i', 1)
  outcome = 'added'
end

local value = st .. SEP .. now .. SEP .. seq .. SEP .. retired .. SEP .. session .. SEP .. details
local s, mindl, maxdl, dead, old = scan(f, now, ttl, always, inst, value)
s = commit(KEYS, pid, s, mindl, maxdl, dead, old, maxlen, inst, value)
-- A garbage net only: offline comes from the sweeper, never from expiry.
if always ~= '1' then redis.call('PEXPIRE', KEYS[1], ttl * 2) end
return { outcome, s }
