-- commit: save progress (a window's cursor, a session job's index) under a live lease.
-- KEYS: item, due, counts, meta, active replays
-- ARGV: id, mode, mode arg, token, owner, now, field, value
-- Returns 'ok', 'lost' or 'cancelled'.
local item, due, counts, meta, active = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, mode, arg, token, owner, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local field, value = ARGV[7], ARGV[8]

if not held(item, token, owner) then
  return 'lost'
end
if retired(meta, active, mode, arg) then
  cancel(item, due, counts, id, now)
  return 'cancelled'
end
redis.call('HSET', item, field, value)
return 'ok'
