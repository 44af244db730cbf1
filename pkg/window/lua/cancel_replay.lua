-- cancel_replay: withdraw an active replay. Its pending windows are never claimed again and its
-- leased windows are cancelled at their holder's next lease operation.
-- KEYS: replay, active replays
-- ARGV: replay id, now
-- Returns 1 when cancelled, 0 when it was not active, -1 when there is no such replay.
local replay, active = KEYS[1], KEYS[2]
local rid, now = ARGV[1], ARGV[2]

local state = redis.call('HGET', replay, 'state')
if not state then
  return -1
end
if state ~= 'active' then
  return 0
end
redis.call('HSET', replay, 'state', 'cancelled', 'finished', now)
redis.call('SREM', active, rid)
return 1
