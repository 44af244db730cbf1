-- renew: extend a live lease.
-- KEYS: item, due, counts, meta, active replays
-- ARGV: id, mode, mode arg, token, owner, now, expires
-- Returns 'ok', 'lost' or 'cancelled'.
local item, due, counts, meta, active = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, mode, arg, token, owner, now, expires = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]

if not held(item, token, owner) then
  return 'lost'
end
if retired(meta, active, mode, arg) then
  cancel(item, due, counts, id, now)
  return 'cancelled'
end
redis.call('HSET', item, 'expires', expires)
redis.call('ZADD', due, expires, id)
return 'ok'
