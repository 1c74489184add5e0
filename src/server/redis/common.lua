-- Shared by the scripts of the Redis store; prepended to each of them.
--
-- Keys of a bucket b (all share the hash tag {b}, so a script touches one
-- Redis Cluster slot):
--   pz:{b}:d:<pid>  HASH  instance id → device value; "_" → "<s>\31<latest deadline>"
--   pz:{b}:dl       ZSET  pid → earliest live deadline (ms): the sweeper's index
--   pz:{b}:ev       STREAM  p (pid), o (old), s (new): one entry per raw state change
--   pz:{b}:n        HASH  i → live instances, p → participants in the bucket
-- States: o online, i idle, b busy, x appear_offline, f offline.
-- Time is Redis' own (TIME), so nodes with skewed clocks agree.

local SEP = '\31'
local RANK = { i = 1, o = 2, b = 3 }

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A device value: state, last seen (ms), seq, hash of the session it
-- replaced, session, then the details the node packed (opaque here).
local function parse(v)
  return string.match(v, '^(%a)\31(%d+)\31(%d+)\31(%x*)\31([^\31]*)\31')
end

-- Seqs go up to 2^63: compared as decimal strings, not as Lua numbers.
local function seq_newer(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end

local function session_hash(session)
  return string.sub(redis.sha1hex(session), 1, 12)
end

-- Scans a device hash (HGETALL's flat list): the raw state over the live
-- devices (the rules of pres_store_union), the earliest and latest live
-- deadlines, the dead devices and the aggregate written before.  inst and
-- value, when given, stand for that device's new value.  (One loop, no
-- closure and no table unless a device is dead: this runs per heartbeat.)
local function scan(f, now, ttl, always, inst, value)
  local best, hide, mindl, maxdl, old, dead = nil, false, nil, nil, 'f', nil
  local n = #f
  local last = inst and n + 1 or n - 1
  for k = 1, last, 2 do
    local name, v
    if k <= n then name, v = f[k], f[k + 1] else name, v = inst, value end
    if name == '_' then
      old = string.sub(v, 1, 1)
    elseif k > n or name ~= inst then
      local st, ts = string.match(v, '^(%a)\31(%d+)')
      local dl = tonumber(ts) + ttl
      if dl > now then
        if st == 'x' then
          hide = true
        elseif best == nil or RANK[st] > RANK[best] then
          best = st
        end
        if mindl == nil or dl < mindl then mindl = dl end
        if maxdl == nil or dl > maxdl then maxdl = dl end
      else
        dead = dead or {}
        dead[#dead + 1] = name
      end
    end
  end
  local s = (hide and 'x') or best or 'f'
  if always == '1' and (s == 'f' or s == 'i') then s = 'o' end
  return s, mindl, maxdl, dead, old
end

-- Writes what scan found, with inst's new value in the same HSET: drops
-- dead devices, keeps the aggregate, the deadline index and the counters in
-- step, and appends an event only when the state changed.  Returns it.
local function commit(keys, pid, s, mindl, maxdl, dead, old, maxlen, inst, value)
  if dead then
    redis.call('HDEL', keys[1], unpack(dead))
    redis.call('HINCRBY', keys[4], 'i', -#dead)
  end
  if mindl then
    redis.call('ZADD', keys[2], mindl, pid)
  else
    redis.call('ZREM', keys[2], pid)
  end
  if s == 'f' then
    if old ~= 'f' then redis.call('HINCRBY', keys[4], 'p', -1) end
    redis.call('DEL', keys[1])
  else
    if old == 'f' then redis.call('HINCRBY', keys[4], 'p', 1) end
    local agg = s .. SEP .. (maxdl or 0)
    if inst then
      redis.call('HSET', keys[1], inst, value, '_', agg)
    else
      redis.call('HSET', keys[1], '_', agg)
    end
    if mindl == nil then redis.call('PERSIST', keys[1]) end
  end
  if s ~= old then
    redis.call('XADD', keys[3], 'MAXLEN', '~', maxlen, '*', 'p', pid, 'o', old, 's', s)
  end
  return s
end

-- Recomputes a participant from what is stored.
local function settle(keys, pid, now, ttl, always, maxlen)
  local s, mindl, maxdl, dead, old = scan(redis.call('HGETALL', keys[1]), now, ttl, always)
  return commit(keys, pid, s, mindl, maxdl, dead, old, maxlen)
end

local function current_state(key)
  local agg = redis.call('HGET', key, '_')
  return agg and string.sub(agg, 1, 1) or 'f'
end
