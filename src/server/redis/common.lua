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

-- Recomputes the participant's raw state from its live devices (the rules
-- of pres_store_union), drops dead devices, and keeps the aggregate, the
-- deadline index, the counters and the event stream in step.  Appends an
-- event only when the state changed.  Returns the new state.
local function settle(keys, pid, now, ttl, always, maxlen)
  local f = redis.call('HGETALL', keys[1])
  local best, hide, mindl, maxdl, old = nil, false, nil, nil, 'f'
  local dead = {}
  for k = 1, #f, 2 do
    if f[k] == '_' then
      old = string.sub(f[k + 1], 1, 1)
    else
      local st, ts = string.match(f[k + 1], '^(%a)\31(%d+)')
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
        dead[#dead + 1] = f[k]
      end
    end
  end
  local s = (hide and 'x') or best or 'f'
  if always == '1' and (s == 'f' or s == 'i') then s = 'o' end

  if #dead > 0 then
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
    redis.call('HSET', keys[1], '_', s .. SEP .. (maxdl or 0))
    if mindl == nil then redis.call('PERSIST', keys[1]) end
  end
  if s ~= old then
    redis.call('XADD', keys[3], 'MAXLEN', '~', maxlen, '*', 'p', pid, 'o', old, 's', s)
  end
  return s
end

local function current_state(key)
  local agg = redis.call('HGET', key, '_')
  return agg and string.sub(agg, 1, 1) or 'f'
end
