-- plan: create windows of the current epoch, each unless it exists. With an expected planned
-- watermark (search mode) the windows are created only if meta's watermark still has that value,
-- and the watermark moves to the new one: two planners never create the same range twice.
-- KEYS: meta, due, counts, index, window...
-- ARGV: epoch, expected watermark or '', new watermark, now, then per window: id, kind, from, to, chunk
-- Returns the number of windows created, -1 when epoch is not current, -2 when the watermark moved.
local meta, due, counts, index = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local epoch, expected, planned, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

if redis.call('HGET', meta, 'epoch') ~= epoch then
  return -1
end
if expected ~= '' then
  if redis.call('HGET', meta, 'planned') ~= expected then
    return -2
  end
  redis.call('HSET', meta, 'planned', planned)
end
local created = 0
for i = 5, #KEYS do
  local a = 5 + (i - 5) * 5
  local id, kind, from, to, chunk = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  created = created + create(KEYS[i], due, counts, index, id, from,
    {'kind', kind, 'from', from, 'to', to, 'chunk', chunk, 'epoch', epoch, 'created', now})
end
return created
