-- settle: record what became of the locks that count claimed.
-- KEYS: per claim i, KEYS[i] its target's marker
-- ARGV: how long an issued marker lasts (milliseconds); then per claim i, ARGV[2i] its event
--       id and ARGV[2i+1] "1" when Teleport took the lock, "0" when UpsertLock failed
-- A lock taken marks the target issued, whoever holds the marker now: the lock exists. A
-- failed claim is withdrawn only while the marker is still this claim's, so that the event's
-- redelivery, or the target's next failed login, claims again.
-- Returns the number of claims.
local issuedTTL = ARGV[1]
for i = 1, #KEYS do
  local id = ARGV[2 * i]
  if ARGV[2 * i + 1] == '1' then
    redis.call('SET', KEYS[i], 'issued:' .. id, 'PX', issuedTTL)
  elseif redis.call('GET', KEYS[i]) == 'pending:' .. id then
    redis.call('DEL', KEYS[i])
  end
end
return #KEYS
