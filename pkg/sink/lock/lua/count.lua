-- count: record the failed logins of one batch and claim the locks they call for.
-- KEYS: per failed login i, KEYS[2i-1] its target's failures (sorted set: event id scored by
--       event time) and KEYS[2i] its target's marker (string)
-- ARGV: period, threshold, lateness, max entries, pending TTL; then per failed login i,
--       ARGV[4+2i] its event id and ARGV[5+2i] its event time
-- Times and durations are milliseconds, passed as decimal strings.
-- Returns three integers per failed login: its state (0 counted, 1 already counted, 2 too
-- late to count); its claim (0 none, 1 it claimed its target's lock, 2 the lock is claimed by
-- this same event elsewhere and not settled yet); and with claim 2 the milliseconds that claim
-- has left, else the most failures found in one window around it (0 when it did not look).
local period = tonumber(ARGV[1])
local threshold = tonumber(ARGV[2])
local lateness = tonumber(ARGV[3])
local maxEntries = tonumber(ARGV[4])
local pendingTTL = ARGV[5]

-- most returns the most failures within one window [e - period + 1, e] that holds t, e being
-- t or a later failure; it stops at the first window with more than threshold. A run of
-- failures fits in the window that ends at its last failure, so these windows are all those
-- that hold t. Fewer than threshold + 1 failures follow t within a period unless that window
-- crosses already, which bounds the work.
local function most(failures, t)
  local best = redis.call('ZCOUNT', failures, t - period + 1, t)
  if best > threshold then
    return best
  end
  local later = redis.call('ZRANGEBYSCORE', failures, '(' .. t, t + period - 1,
    'WITHSCORES', 'LIMIT', 0, threshold + 1)
  for j = 2, #later, 2 do
    local e = tonumber(later[j])
    local n = redis.call('ZCOUNT', failures, e - period + 1, e)
    if n > best then
      best = n
      if best > threshold then
        return best
      end
    end
  end
  return best
end

local out = {}
for i = 1, #KEYS / 2 do
  local failures, marker = KEYS[2 * i - 1], KEYS[2 * i]
  local id, t = ARGV[4 + 2 * i], tonumber(ARGV[5 + 2 * i])
  local state, claim, n = 0, 0, 0

  -- Keep what a window can still need: failures after horizon, a period and the lateness
  -- before the newest. An older failure is too late to count.
  local newest = redis.call('ZRANGE', failures, -1, -1, 'WITHSCORES')
  local top = t
  if newest[2] and tonumber(newest[2]) > t then
    top = tonumber(newest[2])
  end
  local horizon = top - period - lateness
  if t <= horizon then
    state = 2
  else
    if redis.call('ZADD', failures, 'NX', ARGV[5 + 2 * i], id) == 0 then
      state = 1
    end
    redis.call('ZREMRANGEBYSCORE', failures, '-inf', horizon)
    local excess = redis.call('ZCARD', failures) - maxEntries
    if excess > 0 then
      redis.call('ZREMRANGEBYRANK', failures, 0, excess - 1)
    end
    redis.call('PEXPIRE', failures, period + lateness)

    -- The marker is absent (no lock this period), "pending:<id>" (event <id> claimed the
    -- lock and has not settled the claim yet) or "issued:<id>". A copy of the claiming event
    -- (a redelivery, a duplicate) cannot tell a claimer still calling UpsertLock from one that
    -- died: it waits for the claim to be settled or to expire, then claims again if need be.
    local held = redis.call('GET', marker)
    if held == 'pending:' .. id then
      claim = 2
      n = redis.call('PTTL', marker)
    elseif not held then
      n = most(failures, t)
      if n > threshold then
        redis.call('SET', marker, 'pending:' .. id, 'PX', pendingTTL)
        claim = 1
      end
    end
  end
  out[#out + 1] = state
  out[#out + 1] = claim
  out[#out + 1] = n
end
return out
