-- release: give a leased item back, claimable at once, progress kept.
-- KEYS: item, due, counts, meta, active replays
-- ARGV: id, mode, mode arg, token, owner, now
-- Returns 'ok', 'lost' or 'cancelled'.
local item, due, counts, meta, active = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, mode, arg, token, owner, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]

if not held(item, token, owner) then
  return 'lost'
end
if retired(meta, active, mode, arg) then
  cancel(item, due, counts, id, now)
  return 'cancelled'
end
unlease(item)
redis.call('HSET', item, 'state', 'pending', 'ready', now)
redis.call('ZADD', due, now, id)
move(counts, 'leased', 'pending')
return 'ok'
