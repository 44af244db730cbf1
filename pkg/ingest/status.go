package ingest

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// Status is a snapshot of one replica and of the shared state it last read (every Timeout).
type Status struct {
	Owner   string
	Mode    Mode // of the current epoch; "" before Run decided it
	DryRun  bool
	Running bool
	// Epoch is the current epoch; its PlannedUntil is how far search windows are planned (the
	// tail window ends there).
	Epoch window.Epoch
	// Windows counts the current epoch's windows by state, Sessions the session jobs: shared
	// by every replica.
	Windows, Sessions window.Counts
	Paused            bool
	// ReadAt is when the shared fields above were read.
	ReadAt time.Time
	// Newest is the time of the newest audit event this replica delivered to the stream, Lag
	// now minus it (zero before the first).
	Newest time.Time
	Lag    time.Duration
	// Events counts this replica's events since New.
	Events EventCounts
	// Held lists the windows and session jobs this replica's workers hold now, by worker.
	Held []Held
}

// EventCounts counts events. Published includes duplicates; in dry-run it counts what would
// have been published.
type EventCounts struct {
	Read, Skipped, Published, Duplicates int64
}

// Held is a window or session job a worker holds.
type Held struct {
	Worker string // "<owner>/w<n>" (windows), "<owner>/w<n>/follow" (open windows), "<owner>/s<n>" (session jobs)
	ID     string // the window id or session job id
	Kind   string // "search", "export" or "session"
	Since  time.Time
}

// Status returns the snapshot. It reads nothing from Redis: it is cheap and never blocks.
func (e *Engine) Status() Status {
	sh := e.sharedState()
	st := Status{
		Owner:    e.cfg.Owner,
		Mode:     e.currentMode(),
		DryRun:   e.cfg.DryRun,
		Running:  e.running.Load(),
		Epoch:    sh.Epoch,
		Windows:  sh.Windows,
		Sessions: sh.Sessions,
		Paused:   sh.Paused,
		ReadAt:   sh.ReadAt,
		Lag:      time.Duration(e.lag() * float64(time.Second)),
		Events: EventCounts{
			Read: e.events.read.Load(), Skipped: e.events.skipped.Load(),
			Published: e.events.published.Load(), Duplicates: e.events.duplicates.Load(),
		},
		Held: e.activity.held(),
	}
	if ns := e.newest.Load(); ns != 0 {
		st.Newest = time.Unix(0, ns).UTC()
	}
	return st
}

// shared is the shared state as the poller last read it.
type shared struct {
	Epoch             window.Epoch
	Windows, Sessions window.Counts
	Paused            bool
	ReadAt            time.Time
}

func (e *Engine) sharedState() shared {
	e.sharedMu.Lock()
	defer e.sharedMu.Unlock()
	return e.shared
}

func (e *Engine) setShared(s shared) {
	e.sharedMu.Lock()
	defer e.sharedMu.Unlock()
	e.shared = s
}

// poll reads the shared state every Timeout until the run stops: for Status, the windows and
// sessions gauges, the pause flag the workers check between pages, and exit-on-last-event.
func (r *run) poll() {
	var quietSince time.Time
	for {
		readAt := time.Now()
		sh, err := r.readShared(r.ctx)
		switch {
		case err == nil:
			r.setShared(sh)
			setCounts(r.m.windows, sh.Windows)
			setCounts(r.m.sessions, sh.Sessions)
			r.paused.Store(sh.Paused)
			r.m.paused.Set(0)
			if sh.Paused {
				r.m.paused.Set(1)
			}
			if r.cfg.ExitOnLastEvent {
				quietSince = r.exitCheck(sh, readAt, quietSince)
			}
		case r.ctx.Err() == nil:
			r.log.Warn("reading the shared state failed", "err", err)
		}
		if !sleep(r.ctx, r.cfg.Timeout) {
			return
		}
	}
}

func (r *run) readShared(ctx context.Context) (shared, error) {
	sh := shared{ReadAt: r.cfg.now()}
	var err error
	if sh.Epoch, err = r.store.CurrentEpoch(ctx); err != nil {
		return sh, err
	}
	if sh.Windows, err = r.store.EpochCounts(ctx, sh.Epoch.Number); err != nil {
		return sh, err
	}
	if sh.Sessions, err = r.store.SessionCounts(ctx); err != nil {
		return sh, err
	}
	sh.Paused, _, err = r.store.Paused(ctx)
	return sh, err
}

// eventCounts are the Status counts of events.
type eventCounts struct {
	read, skipped, published, duplicates atomic.Int64
}

// Member is the status an ingest replica reports in its beats into the replicas register,
// which the admin API shows in GET /v1/status.
func (s Status) Member() adminapi.IngestMember {
	return adminapi.IngestMember{
		Mode:        string(s.Mode),
		Running:     s.Running,
		DryRun:      s.DryRun,
		NewestEvent: s.Newest,
		LagSeconds:  s.Lag.Seconds(),
		Read:        s.Events.Read,
		Published:   s.Events.Published,
		Duplicates:  s.Events.Duplicates,
		Held:        len(s.Held),
	}
}
