// Package ingest is the engine of the ingest service: it reads the Teleport audit log and its
// session recordings and publishes every event to the JetStream stream, sharing the work with
// any number of replicas through leases in Redis (package window).
//
// One Engine runs per process: New checks the configuration, Run does the work until its
// context ends (or, with ExitOnLastEvent, until the log up to the start is exported) and
// Status is a snapshot for the admin API. The service binary wires it:
//
//	eng, err := ingest.New(ingest.FromConfig(cfg, hostname), ingest.Deps{Source: client,
//		Redis: rdb, JetStream: js, Registerer: prometheus.DefaultRegisterer, Logger: logger})
//	...
//	return eng.Run(ctx) // nil after a graceful stop; an error for a fatal Teleport error
//
// # What runs
//
// Every replica runs the same goroutines:
//   - a planner (window.Planner; one replica at a time leads) that creates the epoch's windows
//     every Timeout: search windows from the start time to now, or export windows for the
//     chunks Teleport lists per UTC day, listing the most recent days again and again for
//     chunks that appear late (planner.go);
//   - Concurrency window workers (worker.go), each claiming one window at a time and reading
//     it page by page: fetch a page (search.go, export.go) → filter (filter.go) → publish it
//     and wait for every PubAck → queue the recordings of its session.upload events
//     (publish.go) → commit the cursor. A crash repeats at most one page, which the stream's dedup drops. A window
//     still open (the tail) is handed to a goroutine of its own that follows it, so that the
//     tail never takes a worker from the backfill;
//   - SessionConcurrency session workers (sessions.go) that stream the queued recordings the
//     same way, committing the event index;
//   - a status poller (status.go) that reads the shared counts and the pause flag, for the
//     metrics (metrics.go), Status and exit-on-last-event (exit.go).
//
// While ingest is paused (window.Store.Pause) claims get nothing, and what a replica holds is
// released at its next page boundary.
//
// # Mode
//
// Each epoch runs in one mode, search or export, recorded in Redis the first time a replica
// needs it (mode.go): Config.Mode, or the answer of Source.ProbeExport. The recorded mode wins
// over a later probe, so a backend that gains or loses the export API, or a probe that failed
// oddly, never makes replicas read the same days twice by two paths; changing mode is an
// admin's start-time reset (a new epoch).
//
// # The tail, the settle pass and the duplicate window
//
// The newest search window holds now: it is read to the end, then again from the start of its
// last (partial) page every Timeout, until the window's end has passed. Once
// done, a window whose first pass began before its end plus the settle grace gets one settle
// pass (window.Config.SettleGrace after its end) that reads it again from the start, for
// events an eventually consistent backend surfaced late. That pass publishes every event of
// the window a second time, and the stream drops the repeats only within its duplicate window
// (nats.duplicate-window, 2 h by default), counted from the first publish. A 24 h window-size
// would put most of the tail's events out of reach, so search windows are planned at
// min(window-size, (duplicate-window − settle-grace) / 2): 55 min with the defaults. The first
// pass of such a window ends at most a window length after its first event was published, and
// the half left over is the time the settle pass may take to be claimed and read. Windows of
// the past (backfill) get no settle pass. Smaller windows only mean more, cheaper Teleport
// queries and more parallelism. A window restarted after a bad cursor may still republish
// events older than the duplicate window; so may the at most Batch events of a tail page that
// a crash makes a replica read again.
//
// # Errors
//
// Source errors become decisions through Deps.Classify: Retry (back off and call again),
// NotFound (a recording not uploaded yet: the session job is retried with backoff for up to
// 48 h, then failed and reported), BadCursor (restart the window from its start; dedup makes
// that free), NotImplemented and Fatal (Run stops with the error, after releasing its
// leases). Any other failure of a window (Redis, a permanent publish failure) releases it for
// another attempt and never stops the other windows; a session job's failures never stop
// anything but that job.
//
// # Replays
//
// An admin's replay (window.Store.CreateReplay) adds search windows tagged with its id, its
// event types and its sinks. Workers read them like the epoch's own windows, with three
// differences: the window's Types narrow the configured filters (filter.go), every message
// carries the replay (event.Replay: its id in the message id, so the stream keeps the
// deliberate repeats, and its sinks in event.HeaderReplaySinks, so that shippers of other
// sinks acknowledge it without delivering), and after each page is published its events are
// added to the replay's count (window.Store.AddReplayEvents; a page repeated after a crash
// counts twice, and a failed count is logged, not fatal). The recordings whose session.upload
// a replay reads are queued under the replay's id and go to the replay's sinks as well. The
// replays' counted events are those of its windows; recordings are not counted.
//
// # Exit on last event and dry run
//
// With ExitOnLastEvent, Run plans the epoch once (no planner election, no polling for late
// chunks) and returns nil when every window up to its start is done and no recording is queued
// or being retried: a search window that goes on past the start is read to the end of what
// exists, then held and released on exit, so that the next run goes on from its cursor.
// Settle passes still due are left for a later run.
//
// With DryRun nothing is published and the stream is left alone; the window and session state
// lives under a scratch Redis prefix of the replica ("<prefix>dry-run:<owner>:"), deleted when
// Run returns, so the real cursors, epochs and modes never move. Each page that would be
// published is logged.
//
// # Stop
//
// When Run's context ends, each worker finishes the page in hand (publish, PubAcks, commit)
// within Config.DrainTimeout, releases its lease so that another replica resumes at once,
// and Run returns nil.
package ingest
