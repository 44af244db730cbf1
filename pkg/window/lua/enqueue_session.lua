-- enqueue_session: add a session job unless it exists (in any state).
-- KEYS: job, due, counts
-- ARGV: job id, session id, replay id, now
-- Returns 1 when created, 0 when the job existed.
return create(KEYS[1], KEYS[2], KEYS[3], nil, ARGV[1], ARGV[4],
  {'sid', ARGV[2], 'replay', ARGV[3], 'created', ARGV[4], 'index', '0', 'attempts', '0'})
