package window

import (
	"strconv"
	"time"
)

// Kind is how a window's events are read from Teleport.
type Kind string

const (
	// KindSearch windows are read with SearchUnstructuredEvents over [From, To).
	KindSearch Kind = "search"
	// KindExport windows are one chunk of one UTC day of the bulk export API.
	KindExport Kind = "export"
)

// State is where a window or session job is in its life.
type State string

const (
	// StatePending: waiting to be claimed (from its ReadyAt time).
	StatePending State = "pending"
	// StateLeased: a replica holds it under a lease.
	StateLeased State = "leased"
	// StateDone: read to the end (and settled, where a settle pass applies).
	StateDone State = "done"
	// StateCancelled: its epoch was reset or its replay cancelled before it was done.
	StateCancelled State = "cancelled"
	// StateFailed: a session job given up on after its retries (session jobs only).
	StateFailed State = "failed"
)

// Window is one unit of ingest work and its saved progress, as Redis held it when read.
//
// A window of an epoch is created by the planner; a window of a replay by CreateReplay. Its
// identity (ID, Kind, From, To, Chunk, Epoch, ReplayID, Types, Sinks) never changes; its progress
// (Cursor, State, Settle) changes only under a lease.
type Window struct {
	// ID is unique within the Store; it is derived from the queue and the range (search) or the
	// day and chunk (export), so creating the same window twice finds the first one.
	ID   string
	Kind Kind
	// From and To bound a search window: events with From <= time < To. For an export window
	// From is the UTC day's midnight and To the next midnight.
	From, To time.Time
	// Chunk is the export chunk's name (export windows only).
	Chunk string
	// Epoch is the epoch the window was created in.
	Epoch int64
	// ReplayID is the replay that created the window, "" for the epoch's own ingest. Replay
	// windows may restrict event Types and target Sinks (nil: all).
	ReplayID string
	Types    []string
	Sinks    []string
	// Cursor is the opaque position committed last; "" means from the start.
	Cursor string
	State  State
	// Settle is set once the first pass completed and the window waits for (or is in) its one
	// settle pass; its cursor was reset for it.
	Settle bool
	// ReadyAt is when a pending window becomes claimable (a settle pass: To + settle grace).
	ReadyAt time.Time
	// Owner, Token and Expires describe the lease while the window is leased.
	Owner   string
	Token   int64
	Expires time.Time
	// Claims counts leases ever granted on the window; a high number flags a window that
	// keeps losing its holder.
	Claims int64
	// CreatedAt is when the window was created, StartedAt when its current pass was first
	// claimed, FinishedAt when it became done or cancelled.
	CreatedAt, StartedAt, FinishedAt time.Time
}

// queue is the queue the window belongs to.
func (w Window) queue() queue {
	if w.ReplayID != "" {
		return replayQueue(w.ReplayID)
	}
	return epochQueue(w.Epoch)
}

// searchWindowID names the search window [from, to) of a queue.
func searchWindowID(q queue, from, to time.Time) string {
	return string(q) + ":s:" + millis(from) + "-" + millis(to)
}

// exportWindowID names the export window of one chunk of one UTC day of a queue.
func exportWindowID(q queue, day time.Time, chunk string) string {
	return string(q) + ":x:" + day.Format(time.DateOnly) + ":" + chunk
}

func decodeWindow(r *record) (Window, error) {
	w := Window{
		ID:         r.str("id"),
		Kind:       Kind(r.str("kind")),
		From:       r.time("from"),
		To:         r.time("to"),
		Chunk:      r.str("chunk"),
		Epoch:      r.int("epoch"),
		ReplayID:   r.str("replay"),
		Types:      r.list("types"),
		Sinks:      r.list("sinks"),
		Cursor:     r.str("cursor"),
		State:      State(r.str("state")),
		Settle:     r.str("settle") == "1",
		ReadyAt:    r.time("ready"),
		Owner:      r.str("owner"),
		Token:      r.int("token"),
		Expires:    r.time("expires"),
		Claims:     r.int("claims"),
		CreatedAt:  r.time("created"),
		StartedAt:  r.time("started"),
		FinishedAt: r.time("finished"),
	}
	return w, r.err
}

// leaseScope is how the lease scripts check that a window's work is still wanted: an epoch
// window's epoch must be current, a replay window's replay active.
func (w Window) leaseScope() (mode, arg string) {
	if w.ReplayID != "" {
		return "replay", w.ReplayID
	}
	return "epoch", strconv.FormatInt(w.Epoch, 10)
}
