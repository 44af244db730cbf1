// Package window is ingest's shared work state in Redis: the units of work (windows and
// session jobs), the leases replicas hold on them, the epochs and replays that create them,
// the pause flag, and the election of the one planner.
//
// # Work
//
// A window is a unit of ingest work: a time range [From, To) read with Teleport's search API,
// or one chunk of one UTC day of its bulk export API. It has a cursor (its saved progress), a
// state (pending, leased, done; cancelled when its work is withdrawn) and belongs to one queue:
// an epoch's own ingest, or a replay. A session job is the work of streaming one session
// recording; it is leased the same way and has an event index for a cursor.
//
// Epochs: the configured start-time starts epoch 1 on the very first start (InitEpoch); an
// admin's start-time reset starts the next (ResetEpoch), and the previous epoch's unfinished
// windows are withdrawn. Replays (CreateReplay) add windows tagged with a replay id, which
// ingest puts into message ids so that the stream's dedup keeps the deliberate repeats.
//
// Windows of the epoch are created by the planner: one replica at a time leads (Election,
// Planner) and creates search windows from the start to now (PlanSearch), the newest being the
// tail that follows now, or export windows for the chunks it finds (EnsureExport). Creation is
// idempotent, so racing planners and restarts never make a window twice.
//
// Settle: a search window whose first pass started before To + Config.SettleGrace is read once
// more from then (done → pending with Settle set, cursor cleared), for events the backend
// surfaced late. The settle pass reads the whole window again, so the stream's duplicate window
// must cover window size + grace for the repeats to be dropped.
//
// # Leases
//
// Claim and ClaimSession lease a claimable item to a replica: owner + fencing token (from one
// INCR counter, so every token is greater than all before it) + expiry (now + LeaseTTL). The
// holder renews (Renew, KeepAlive), commits progress (Commit), and ends the lease by Complete
// or Release. An unrenewed lease expires and the item becomes claimable by any replica. Every
// lease operation is one Lua script that compares the caller's token with the item's: a
// replica whose lease expired while it was paused, and was claimed by another, gets
// ErrLeaseLost and can never move the cursor back or forward. Fencing tokens make this safe
// whatever the clocks say; clocks (the Store's Clock) decide only when leases expire and
// when items become ready.
//
// # Who calls what
//
// Ingest replicas: Claim, ClaimSession and the Lease and SessionLease methods, EnqueueSession
// (on each session.upload event), and a Planner each (NewPlanner, Run), of which one leads.
// The admin service: ResetEpoch, CreateReplay, CancelReplay, Pause, Resume, and the reads
// (CurrentEpoch, EpochCounts, SessionCounts, MissingSessions, Replay, ReplayProgress, Replays,
// ReplayWindows, EpochWindows, Window, Paused). Every method is safe for concurrent use from
// any number of processes; each write is one atomic Lua script or command.
//
// # Redis keys
//
// Every key is "<prefix>{ingest}:<name>", prefix being the configured redis.key-prefix
// (default "auditpipe:"). The hash tag {ingest} puts every key in one Redis Cluster slot, so
// each Lua script's keys share a slot; the state is small (a hash per window or job). Times
// are unix milliseconds. <queue> is "e<epoch>" or "r:<replay id>".
//
//	meta                   hash: epoch, start, planned (search watermark), epoch-created, paused
//	tokens                 string: INCR counter of fencing tokens
//	win:<window id>        hash: id, kind, from, to, chunk, epoch, replay, types, sinks (JSON),
//	                       cursor, state, settle, ready, owner, token, expires, claims,
//	                       created, started, finished
//	due:<queue>            zset of the queue's pending and leased windows, scored by the time
//	                       they become claimable: ready time, or lease expiry
//	counts:<queue>         hash: number of the queue's windows per state
//	index:<queue>          zset of all the queue's window ids, scored by From
//	replay:<id>            hash: id, from, to, types, sinks, state, created, finished, total
//	replays                zset of replay ids, scored by creation time
//	replays-active         set of the ids of active replays
//	session:<job id>       hash: id, sid, replay, index, state, attempts, error, ready, owner,
//	                       token, expires, claims, created, started, finished
//	sessions-due           zset of pending and leased session jobs, as due:<queue>
//	sessions-counts        hash: number of session jobs per state
//	leader:<name>          string "<owner>#<term>" with a PX expiry: the leader's lease
//	leader-terms:<name>    string: INCR counter of leadership terms
//	modes                  hash: epoch number → ingest mode (search or export), set once
//
// Window ids: "<queue>:s:<from>-<to>" (search) and "<queue>:x:<YYYY-MM-DD>:<chunk>" (export).
// Session job ids: "<session id>", or "r:<replay id>:<session id>" for a replay's job.
package window
