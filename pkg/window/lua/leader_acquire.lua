-- leader_acquire: take the leadership if nobody holds it (SET NX PX). Each new term gets a
-- fencing token from the term counter, so a value is never reused.
-- KEYS: leader, terms
-- ARGV: owner, ttl ms
-- Returns the value now held ('<owner>#<term>'), or false when another replica leads.
local leader, terms = KEYS[1], KEYS[2]
if redis.call('EXISTS', leader) == 1 then
  return false
end
local value = ARGV[1] .. '#' .. redis.call('INCR', terms)
redis.call('SET', leader, value, 'NX', 'PX', ARGV[2])
return value
