-- reset_epoch: start a new epoch at the given time; the previous epoch's work is withdrawn.
-- KEYS: meta
-- ARGV: start, now
-- Returns the new epoch number.
local meta = KEYS[1]
local epoch = redis.call('HINCRBY', meta, 'epoch', 1)
redis.call('HSET', meta, 'start', ARGV[1], 'planned', ARGV[1], 'epoch-created', ARGV[2])
return epoch
