-- finish_session: end a session job's attempt under a live lease: 'done' (streamed), 'failed'
-- (given up) or 'pending' (retry from the given time). A failed or retried attempt counts.
-- KEYS: job, due, counts
-- ARGV: id, mode, mode arg (unused, as for every lease script), token, owner, now, state,
--       retry time, reason
-- Returns 'ok' or 'lost'.
local job, due, counts = KEYS[1], KEYS[2], KEYS[3]
local id, token, owner, now = ARGV[1], ARGV[4], ARGV[5], ARGV[6]
local state, retry, reason = ARGV[7], ARGV[8], ARGV[9]

if not held(job, token, owner) then
  return 'lost'
end
unlease(job)
if state ~= 'done' then
  redis.call('HINCRBY', job, 'attempts', 1)
  redis.call('HSET', job, 'error', reason)
end
if state == 'pending' then
  redis.call('HSET', job, 'state', 'pending', 'ready', retry)
  redis.call('ZADD', due, retry, id)
else
  redis.call('HSET', job, 'state', state, 'finished', now)
  redis.call('ZREM', due, id)
end
move(counts, 'leased', state)
return 'ok'
