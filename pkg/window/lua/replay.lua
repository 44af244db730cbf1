-- replay: create a replay and all its windows, unless a replay with its id exists.
-- KEYS: replay, replays, active replays, due, counts, index, window...
-- ARGV: replay id, from, to, types, sinks, now, epoch, then per window: id, from, to
-- Returns 1 when created, 0 when the id exists.
local replay, replays, active, due, counts, index = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local rid, from, to, types, sinks, now, epoch = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]

if redis.call('EXISTS', replay) == 1 then
  return 0
end
redis.call('HSET', replay, 'id', rid, 'from', from, 'to', to, 'types', types, 'sinks', sinks,
  'state', 'active', 'created', now, 'total', #KEYS - 6)
redis.call('ZADD', replays, now, rid)
redis.call('SADD', active, rid)
for i = 7, #KEYS do
  local a = 8 + (i - 7) * 3
  create(KEYS[i], due, counts, index, ARGV[a], ARGV[a + 1],
    {'kind', 'search', 'from', ARGV[a + 1], 'to', ARGV[a + 2], 'chunk', '', 'epoch', epoch,
     'replay', rid, 'types', types, 'sinks', sinks, 'created', now})
end
return 1
