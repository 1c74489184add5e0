-- A heartbeat (upsert) of one device.
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
local cur = redis.call('HGET', KEYS[1], inst)
local retired = ''
local outcome = 'applied'

if cur then
  local _, _, cur_seq, cur_retired, cur_session = parse(cur)
  if cur_session == session then
    if not seq_newer(seq, cur_seq) then return { 'stale', current_state(KEYS[1]) } end
    retired = cur_retired
  else
    -- A new agent run replaces the live one; the replaced run's late
    -- heartbeats stay ignored.
    if cur_retired ~= '' and cur_retired == session_hash(session) then
      return { 'stale', current_state(KEYS[1]) }
    end
    retired = session_hash(cur_session)
  end
else
  local n = redis.call('HLEN', KEYS[1]) - redis.call('HEXISTS', KEYS[1], '_')
  if n >= max_inst then
    -- Dead devices the sweeper has not reached yet do not count.
    settle(KEYS, pid, now, ttl, always, maxlen)
    n = redis.call('HLEN', KEYS[1]) - redis.call('HEXISTS', KEYS[1], '_')
    if n >= max_inst then return { 'too_many', current_state(KEYS[1]) } end
  end
  if may_add ~= '1' then return { 'full', current_state(KEYS[1]) } end
  redis.call('HINCRBY', KEYS[4], 'i', 1)
  outcome = 'added'
end

redis.call('HSET', KEYS[1], inst,
  st .. SEP .. now .. SEP .. seq .. SEP .. retired .. SEP .. session .. SEP .. details)
-- A garbage net only: offline comes from the sweeper, never from expiry.
if always ~= '1' then redis.call('PEXPIRE', KEYS[1], ttl * 2) end
return { outcome, settle(KEYS, pid, now, ttl, always, maxlen) }
