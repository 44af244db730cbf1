-- Adds to a replay's events count; a replay that does not exist is left alone.
-- KEYS[1]: the replay's hash. ARGV[1]: the count to add.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HINCRBY', KEYS[1], 'events', ARGV[1])
end
return 0
