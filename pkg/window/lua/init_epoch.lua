-- init_epoch: make epoch 1 start at the given time, unless an epoch exists.
-- KEYS: meta
-- ARGV: start, now
-- Returns meta's epoch, start, planned and epoch creation time.
local meta = KEYS[1]
if redis.call('HEXISTS', meta, 'epoch') == 0 then
  redis.call('HSET', meta, 'epoch', '1', 'start', ARGV[1], 'planned', ARGV[1], 'epoch-created', ARGV[2])
end
return redis.call('HMGET', meta, 'epoch', 'start', 'planned', 'epoch-created')
