-- leader_resign: give up the leadership if value still holds it.
-- KEYS: leader
-- ARGV: value
-- Returns 1 when given up, 0 when it was not held.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
