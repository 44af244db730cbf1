-- claim: lease one item to an owner, if it is claimable now.
-- KEYS: item, due, counts, meta, active replays, fencing token counter
-- ARGV: id, mode, mode arg, owner, now, expires
-- Returns {'ok', {item fields}}, {'taken'} (not claimable now), {'paused'} or {'cancelled'}.
local item, due, counts, meta, active, tokens = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, mode, arg, owner, now, expires = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]

if redis.call('HEXISTS', meta, 'paused') == 1 then
  return {'paused'}
end
local score = redis.call('ZSCORE', due, id)
if not score or tonumber(score) > tonumber(now) then
  return {'taken'}
end
local state = redis.call('HGET', item, 'state')
if state ~= 'pending' and state ~= 'leased' then
  redis.call('ZREM', due, id)
  return {'taken'}
end
if retired(meta, active, mode, arg) then
  cancel(item, due, counts, id, now)
  return {'cancelled'}
end

local token = redis.call('INCR', tokens)
redis.call('HSET', item, 'state', 'leased', 'owner', owner, 'token', token, 'expires', expires)
redis.call('HSETNX', item, 'started', now)
redis.call('HINCRBY', item, 'claims', 1)
redis.call('ZADD', due, expires, id)
move(counts, state, 'leased')
return {'ok', redis.call('HGETALL', item)}
