-- A leave of one device, for its live session only.
-- KEYS: d, dl, ev, n.  ARGV: pid, instance, session, ttl_ms, always_online, MAXLEN.
-- Returns { removed (1/0), raw state }.
local pid, inst, session, ttl, always, maxlen =
  ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
local cur = redis.call('HGET', KEYS[1], inst)
if not cur then return { 0, current_state(KEYS[1]) } end
local _, _, _, _, cur_session = parse(cur)
if cur_session ~= session then return { 0, current_state(KEYS[1]) } end
redis.call('HDEL', KEYS[1], inst)
redis.call('HINCRBY', KEYS[4], 'i', -1)
return { 1, settle(KEYS, pid, now_ms(), ttl, always, maxlen) }
