-- Functions shared by every script; scripts.go puts this file in front of each script body.
--
-- Work items (windows and session jobs) are hashes with the fields state, owner, token and
-- expires. A pending or leased item is a member of its queue's due set, scored by the time
-- (unix ms) from which it may be claimed: its ready time while pending, its lease expiry while
-- leased. Counts hashes hold the number of items in each state. Times are unix milliseconds,
-- passed in by the caller as decimal strings and stored as given.

-- retired reports whether an item's work was withdrawn: for mode 'epoch' its epoch (arg) is no
-- longer the current one in meta; for mode 'replay' its replay (arg) is no longer active.
local function retired(meta, active, mode, arg)
  if mode == 'epoch' then
    return redis.call('HGET', meta, 'epoch') ~= arg
  elseif mode == 'replay' then
    return redis.call('SISMEMBER', active, arg) == 0
  end
  return false
end

-- move counts one item out of state from and into state to.
local function move(counts, from, to)
  if from ~= to then
    redis.call('HINCRBY', counts, from, -1)
    redis.call('HINCRBY', counts, to, 1)
  end
end

-- held reports whether token and owner are those of the item's live lease. Tokens alone
-- suffice while Redis keeps every write; the owner also guards the case where a failover lost
-- the last writes and the counter hands out a token a second time.
local function held(item, token, owner)
  local f = redis.call('HMGET', item, 'state', 'token', 'owner')
  return f[1] == 'leased' and f[2] == token and f[3] == owner
end

-- unlease drops the item's lease: its old token can never match again.
local function unlease(item)
  redis.call('HDEL', item, 'owner', 'token', 'expires')
end

-- cancel moves a pending or leased item of withdrawn work to state cancelled.
local function cancel(item, due, counts, id, now)
  local state = redis.call('HGET', item, 'state')
  if state == 'pending' or state == 'leased' then
    move(counts, state, 'cancelled')
    redis.call('HSET', item, 'state', 'cancelled', 'finished', now)
    unlease(item)
  end
  redis.call('ZREM', due, id)
end

-- create adds a pending item unless its key exists, ready to be claimed from time ready; fields
-- is a flat list of field, value. index, when given, lists the item's queue by ready time.
-- It returns 1 when it created the item, 0 when the item was there already.
local function create(item, due, counts, index, id, ready, fields)
  if redis.call('EXISTS', item) == 1 then
    return 0
  end
  redis.call('HSET', item, 'id', id, 'state', 'pending', 'ready', ready, unpack(fields))
  redis.call('ZADD', due, ready, id)
  if index then
    redis.call('ZADD', index, ready, id)
  end
  redis.call('HINCRBY', counts, 'pending', 1)
  return 1
end
