-- complete: end a window's pass under a live lease. With a settle time the window goes back to
-- pending for its one settle pass from that time, its cursor cleared; without one it is done,
-- and a replay whose windows are all done is done.
-- KEYS: item, due, counts, meta, active replays[, replay]
-- ARGV: id, mode, mode arg, token, owner, now, settle time or ''
-- Returns 'settle', 'done', 'lost' or 'cancelled'.
local item, due, counts, meta, active, replay = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, mode, arg, token, owner, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local settle = ARGV[7]

if not held(item, token, owner) then
  return 'lost'
end
if retired(meta, active, mode, arg) then
  cancel(item, due, counts, id, now)
  return 'cancelled'
end
unlease(item)
if settle ~= '' then
  redis.call('HSET', item, 'state', 'pending', 'settle', '1', 'cursor', '', 'ready', settle)
  redis.call('HDEL', item, 'started')
  redis.call('ZADD', due, settle, id)
  move(counts, 'leased', 'pending')
  return 'settle'
end
redis.call('HSET', item, 'state', 'done', 'finished', now)
redis.call('ZREM', due, id)
move(counts, 'leased', 'done')
if replay and mode == 'replay' then
  local done = tonumber(redis.call('HGET', counts, 'done') or '0')
  local total = tonumber(redis.call('HGET', replay, 'total') or '0')
  if done >= total then
    redis.call('HSET', replay, 'state', 'done', 'finished', now)
    redis.call('SREM', active, arg)
  end
end
return 'done'
