-- presence-server's functions in Redis.  pres-redis-lua.c loads this file
-- as one library named after its text ("pz_<sha>") and defines LIB to that
-- name ahead of it: nodes of two versions each call their own functions.
--
-- Keys of a bucket b (all share the hash tag {b}, so a call touches one
-- Redis Cluster slot):
--   pz:{b}:d:<pid>  HASH  instance id → device value;
--                   "_" → "<s>\31<latest last seen>\31<indexed deadline>"
--   pz:{b}:dl       ZSET  pid → a time no later than any of its devices'
--                   deadlines: the sweeper's index
--   pz:{b}:ev       STREAM  three kinds of entries, told apart by their fields:
--                   p (pid), o (old), s (new): a raw state change;
--                   p (viewer), g (other), u (until): a new or longer grant;
--                   p (pid), m (e enter, u update, l leave), i (instance),
--                   r (a leave's reason: l left, e expired, r replaced),
--                   a (the participant's raw state after the call), t (ms),
--                   v (the member's device value: the new one, or for a
--                   leave the last), c (a left's client reason), d (a left's
--                   data, instead of the value's): a member event, appended
--                   before the state change it causes, in the same call
--   pz:{b}:n        HASH  i → live instances, p → participants in the bucket
--   pz:{b}:c:<viewer>\31<other>  STRING  "<at>\31<until>": when the two last
--                   talked and until when that grants (ms, the platform's
--                   clock), expiring then (PXAT); one key per side, in the
--                   viewer's bucket
-- States: o online, i idle, b busy, x appear_offline, f offline.
-- Time is Redis' own, so nodes with skewed clocks agree: TIME, or for a
-- heartbeat the node's reading of it (TIME once a second, carried forward
-- on its monotonic clock, never earlier than Redis', later by at most a
-- round trip).

local SEP = '\31'
local RANK = { i = 1, o = 2, b = 3 }

-- Now in ms, as a number and as a string built from TIME's (a number
-- formatted back costs a heartbeat about a tenth of its time).
local function now_ms()
  local t = redis.call('TIME')
  local us = t[2]
  local ms = t[1] .. string.sub(string.rep('0', 6 - #us) .. us, 1, 3)
  return tonumber(ms), ms
end

-- Now in ms rounded up, for a stamp: a member never expires before its TTL.
local function stamp_now_ms()
  local t = redis.call('TIME')
  local ms = tonumber(t[1]) * 1000 + math.ceil(tonumber(t[2]) / 1000)
  return ms, string.format('%d', ms)
end

-- A device value: state, last seen (ms), its own TTL (ms), seq, hash of
-- the session it replaced, session, then where the details the node packed
-- begin (opaque here but for what an update compares, see below).
local function parse(v)
  return string.match(v, '^(%a)\31(%d+)\31(%d+)\31(%d+)\31(%x*)\31([^\31]*)\31()')
end

-- What an update compares of the details: their first two fields, the
-- status text and the data (pres-redis-device.c packs them first), as the
-- memory store does; the rest describes the beat or the device.  Plain
-- finds: a heartbeat's cheapest path runs this.
local function member_end(d, from)
  local i = string.find(d, SEP, from, true)
  local j = i and string.find(d, SEP, i + 1, true)
  return j and j - 1 or #d
end

local function same_member_details(cur, from, details)
  local cur_end, new_end = member_end(cur, from), member_end(details, 1)
  return cur_end - from == new_end - 1
         and string.find(cur, string.sub(details, 1, new_end), from, true) == from
end

-- A device's state, last seen and deadline.
local function liveness(v)
  local st, ts, ttl = string.match(v, '^(%a)\31(%d+)\31(%d+)')
  local seen = tonumber(ts)
  return st, ts, seen, seen + tonumber(ttl)
end

-- Seqs go up to 2^63: compared as decimal strings, not as Lua numbers.
local function seq_newer(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end

local function session_hash(session)
  return string.sub(redis.sha1hex(session), 1, 12)
end

-- A participant's keys, the settings of the call recomputing it, its time
-- as a string (the member events' t) and the member events it queued.
local function participant(keys, pid, ttl, always, maxlen, now_s)
  return { keys = keys, pid = pid, ttl = ttl, always = always, maxlen = maxlen, now_s = now_s,
           events = {} }
end

-- Queues a member event (see the key comment above); reason, client_reason
-- and data only for a leave, client_reason and data only when given.
local function member_event(c, action, inst, value, state, reason, client_reason, data)
  local e = { 'XADD', c.keys[3], 'MAXLEN', '~', c.maxlen, '*', 'p', c.pid, 'm', action,
              'i', inst, 'a', state, 't', c.now_s, 'v', value }
  if reason then e[#e + 1] = 'r'; e[#e + 1] = reason end
  if client_reason then e[#e + 1] = 'c'; e[#e + 1] = client_reason end
  if data then e[#e + 1] = 'd'; e[#e + 1] = data end
  c.events[#c.events + 1] = e
end

-- The union rules of pres_store_union, with the always-online flag.
local function union(best, hide, always)
  local s = (hide and 'x') or best or 'f'
  if always == '1' and (s == 'f' or s == 'i') then s = 'o' end
  return s
end

-- Scans a device hash (HGETALL's flat list) as of time now: the raw state
-- over the live devices (s), the earliest live deadline, the latest last
-- seen, the dead devices and their values, the aggregate written before
-- and the longest TTL among the live devices.  inst and value, when given,
-- stand for that device's new value.
local function scan(c, f, now, inst, value)
  local r = { mindl = nil, latest = 0, latest_s = '0', old = 'f', dead = nil, dead_values = nil,
              maxttl = c.ttl }
  local best, hide = nil, false
  local function live(v, name)
    local st, ts, seen, dl = liveness(v)
    if dl <= now then
      r.dead = r.dead or {}
      r.dead_values = r.dead_values or {}
      r.dead[#r.dead + 1] = name
      r.dead_values[#r.dead_values + 1] = v
      return
    end
    if dl - seen > r.maxttl then r.maxttl = dl - seen end
    if st == 'x' then
      hide = true
    elseif best == nil or RANK[st] > RANK[best] then
      best = st
    end
    if r.mindl == nil or dl < r.mindl then r.mindl = dl end
    if seen > r.latest then r.latest, r.latest_s = seen, ts end
  end
  for k = 1, #f - 1, 2 do
    local name = f[k]
    if name == '_' then
      r.old = string.sub(f[k + 1], 1, 1)
    elseif name ~= inst then
      live(f[k + 1], name)
    end
  end
  if inst then live(value, inst) end
  r.s = union(best, hide, c.always)
  return r
end

-- Writes what scan found (r), with inst's new value in the same HSET: drops
-- dead devices (a leave, expired, each), keeps the aggregate, the deadline
-- index, the garbage net and the counters in step, appends the member
-- events queued, then a state change only when the state changed.  (A
-- read that finds a participant past its deadline settles it before it
-- answers, so no reader has seen an expiry the log does not have.)
-- Returns the state.
local function commit(c, r, inst, value)
  local key, s, old = c.keys[1], r.s, r.old
  if r.dead then
    redis.call('HDEL', key, unpack(r.dead))
    redis.call('HINCRBY', c.keys[4], 'i', -#r.dead)
    for j = 1, #r.dead do
      member_event(c, 'l', r.dead[j], r.dead_values[j], s, 'e')
    end
  end
  if r.mindl then
    redis.call('ZADD', c.keys[2], r.mindl, c.pid)
  else
    redis.call('ZREM', c.keys[2], c.pid)
  end
  if s == 'f' then
    if old ~= 'f' then redis.call('HINCRBY', c.keys[4], 'p', -1) end
    redis.call('DEL', key)
  else
    if old == 'f' then redis.call('HINCRBY', c.keys[4], 'p', 1) end
    local agg = s .. SEP .. r.latest_s .. SEP .. (r.mindl or 0)
    if inst then
      redis.call('HSET', key, inst, value, '_', agg)
    else
      redis.call('HSET', key, '_', agg)
    end
    -- A garbage net only: offline comes from the sweeper, never from
    -- expiry.  Two of the longest TTL outlast every deadline the index
    -- lets pass unseen.
    if c.always == '1' then
      redis.call('PERSIST', key)
    else
      redis.call('PEXPIRE', key, r.maxttl * 2)
    end
  end
  for j = 1, #c.events do
    redis.call(unpack(c.events[j]))
  end
  if s ~= old then
    redis.call('XADD', c.keys[3], 'MAXLEN', '~', c.maxlen, '*', 'p', c.pid, 'o', old, 's', s)
  end
  return s
end

local function current_state(key)
  local agg = redis.call('HGET', key, '_')
  return agg and string.sub(agg, 1, 1) or 'f'
end

-- A heartbeat (upsert) of one device.
-- KEYS: d, dl, ev, n of the participant's bucket.
-- ARGV: pid, instance, state, session, seq, details, the member's ttl_ms,
--       always_online
--       (1/0), may_add (1/0: the node's view of the server-wide cap),
--       max instances per participant, stream MAXLEN, now (ms, or "").
-- Returns the outcome's letter and the raw state's: a(pplied), n(ew
-- instance), s(tale), t(oo many devices) or f(ull server); only a and n
-- change anything.
-- Its member events: enter for a new member, or a new session (after a
-- leave, replaced, of the old one), or a live session's beat on a device
-- whose deadline had passed (after a leave, expired: readers no longer
-- showed it); update when the state, the status text or the data changed;
-- nothing for a beat that changes none.
local function heartbeat(keys, args)
  local pid, inst, st, session, seq, details =
    args[1], args[2], args[3], args[4], args[5], args[6]
  local ttl, always, may_add, max_inst = tonumber(args[7]), args[8], args[9], tonumber(args[10])
  local now, now_s = tonumber(args[12]), args[12]
  if not now then now, now_s = stamp_now_ms() end
  local f = redis.call('HGETALL', keys[1])
  local cur, agg, n_devices = nil, nil, 0
  for k = 1, #f, 2 do
    if f[k] == '_' then
      agg = f[k + 1]
    else
      n_devices = n_devices + 1
      if f[k] == inst then cur = f[k + 1] end
    end
  end
  local current = agg and string.sub(agg, 1, 1) or 'f'
  local retired = ''
  local outcome = 'a'
  local cur_leaves, changed = nil, true

  if cur then
    local cur_st, _, cur_ttl, cur_seq, cur_retired, cur_session, cur_details_at = parse(cur)
    if cur_session == session then
      if not seq_newer(seq, cur_seq) then return 's' .. current end
      retired = cur_retired
      changed = cur_st ~= st or not same_member_details(cur, cur_details_at, details)
      -- Most heartbeats: a periodic one, nothing about the member changed.
      -- Every device lives at least until the indexed deadline, so while
      -- that is half a TTL away nothing but this device's value and the
      -- latest last seen can change; the index and the garbage net are
      -- left behind (safely early) and caught up with every other beat or
      -- so.  A member that changes its TTL may shorten its deadline: not
      -- cheap.
      if not changed and cur_ttl == args[7] and always ~= '1' then
        local indexed = string.match(agg, '^%a\31%d+\31(%d+)$')
        if indexed and tonumber(indexed) >= now + ttl / 2 then
          local value = st .. SEP .. now_s .. SEP .. args[7] .. SEP .. seq .. SEP .. retired
                        .. SEP .. session .. SEP .. details
          redis.call('HSET', keys[1], inst, value, '_', current .. SEP .. now_s .. SEP .. indexed)
          return 'a' .. current
        end
      end
      if select(4, liveness(cur)) <= now then cur_leaves = 'e' end
    else
      -- A new agent run replaces the live one; the replaced run's late
      -- heartbeats stay ignored.
      if cur_retired ~= '' and cur_retired == session_hash(session) then
        return 's' .. current
      end
      retired = session_hash(cur_session)
      cur_leaves = 'r'
    end
  else
    if n_devices >= max_inst then
      -- Dead devices the sweeper has not reached yet do not count.
      local live = 0
      for k = 1, #f, 2 do
        if f[k] ~= '_' and select(4, liveness(f[k + 1])) > now then
          live = live + 1
        end
      end
      if live >= max_inst then return 't' .. current end
    end
    if may_add ~= '1' then return 'f' .. current end
    redis.call('HINCRBY', keys[4], 'i', 1)
    outcome = 'n'
  end

  local c = participant(keys, pid, ttl, always, args[11], now_s)
  local value = st .. SEP .. now_s .. SEP .. args[7] .. SEP .. seq .. SEP .. retired .. SEP
                .. session .. SEP .. details
  local r = scan(c, f, now, inst, value)
  if cur_leaves then
    member_event(c, 'l', inst, cur, r.s, cur_leaves)
    member_event(c, 'e', inst, value, r.s)
  elseif not cur then
    member_event(c, 'e', inst, value, r.s)
  elseif changed then
    member_event(c, 'u', inst, value, r.s)
  end
  return outcome .. commit(c, r, inst, value)
end

-- "+text" for a text given, "" for none.
local function optional(arg)
  if string.sub(arg, 1, 1) == '+' then return string.sub(arg, 2) end
  return nil
end

-- A leave of one device, for its live session only: its member leaves,
-- left, with the client's reason and data when given.
-- KEYS: d, dl, ev, n.  ARGV: pid, instance, session, ttl_ms, always_online,
-- MAXLEN, client reason and data (each "+text" or "").
-- Returns { removed (1/0), raw state }.
local function leave(keys, args)
  local pid, inst, session = args[1], args[2], args[3]
  local cur = redis.call('HGET', keys[1], inst)
  if not cur then return { 0, current_state(keys[1]) } end
  local _, _, _, _, _, cur_session = parse(cur)
  if cur_session ~= session then return { 0, current_state(keys[1]) } end
  redis.call('HDEL', keys[1], inst)
  redis.call('HINCRBY', keys[4], 'i', -1)
  local now, now_s = now_ms()
  local c = participant(keys, pid, tonumber(args[4]), args[5], args[6], now_s)
  local r = scan(c, redis.call('HGETALL', keys[1]), now)
  member_event(c, 'l', inst, cur, r.s, 'l', optional(args[7]), optional(args[8]))
  return { 1, commit(c, r) }
end

-- Recomputes one participant: the sweeper's expiry (due = 1: only if its
-- indexed deadline has passed, so that several nodes sweeping the same
-- bucket append one offline event between them) and the always-online
-- flag (due = 0).  cut, unless empty: no deadline after it counts as
-- passed (a node back from an outage does not expire what passed while
-- it was away).
-- KEYS: d, dl, ev, n.  ARGV: pid, ttl_ms, always_online, MAXLEN, due, cut.
-- Returns the raw state, or false when nothing was due.
local function settle(keys, args)
  local now, now_s = now_ms()
  local at = now
  if args[6] ~= '' and tonumber(args[6]) < now then at = tonumber(args[6]) end
  if args[5] == '1' then
    local deadline = redis.call('ZSCORE', keys[2], args[1])
    if not deadline or tonumber(deadline) > at then return false end
  end
  local c = participant(keys, args[1], tonumber(args[2]), args[3], args[4], now_s)
  return commit(c, scan(c, redis.call('HGETALL', keys[1]), at))
end

-- One side of a conversation: keeps the newer of the held one and this,
-- and says a newer one on the viewer's event stream (p viewer, g other,
-- u until), so subscribers on every node learn of it.
-- KEYS: c, ev.  ARGV: at_ms, expires_at_ms, viewer, other, MAXLEN.
-- Returns { at_ms, expires_at_ms } as now held.
local function conversation(keys, args)
  local held = redis.call('GET', keys[1])
  if held then
    local at, expires = string.match(held, '^(%d+)\31(%d+)$')
    if at and tonumber(at) >= tonumber(args[1]) then return { at, expires } end
  end
  redis.call('SET', keys[1], args[1] .. SEP .. args[2], 'PXAT', args[2])
  redis.call('XADD', keys[2], 'MAXLEN', '~', args[5], '*', 'p', args[3], 'g', args[4],
             'u', args[2])
  return { args[1], args[2] }
end

redis.register_function(LIB .. '_heartbeat', heartbeat)
redis.register_function(LIB .. '_leave', leave)
redis.register_function(LIB .. '_settle', settle)
redis.register_function(LIB .. '_conversation', conversation)
