package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// errPark: exit-on-last-event read a window up to the run's start, and the window goes on
// after it; the worker parks it (see parked).
var errPark = errors.New("ingest: window read up to the start of the run")

// windowWorker claims windows and reads them, one at a time, until the run stops. A fatal
// error stops the run.
func (r *run) windowWorker(n int) {
	owner := fmt.Sprintf("%s/w%d", r.cfg.Owner, n)
	slot := r.activity.slot(owner)
	for r.ctx.Err() == nil {
		claimed := time.Now()
		l, err := r.store.Claim(r.ctx, owner)
		if err != nil {
			r.idle(slot, claimed, err)
			continue
		}
		w := l.Window()
		slot.hold(claimed, w.ID, string(w.Kind))
		if !r.follow(l, owner) {
			if err := r.runWindow(l, owner); err != nil {
				r.fail(err)
			}
		}
		slot.free()
	}
}

// follow hands a window that is still open (the tail, which receives events until its end)
// to a goroutine of its own and reports whether it did. Following a window lasts until its
// end, so a worker that did it would be lost to the closed windows for that long: with few
// workers the backfill would starve. At most Concurrency windows are followed at once; past
// that, and for closed windows, the worker reads the window itself.
func (r *run) follow(l *window.Lease, owner string) bool {
	w := l.Window()
	if w.Kind != window.KindSearch || !r.cfg.now().Before(w.To) {
		return false
	}
	select {
	case r.following <- struct{}{}:
	default:
		return false
	}
	follower := owner + "/follow"
	r.wg.Go(func() {
		defer func() { <-r.following }()
		slot := r.activity.slot(follower)
		defer r.activity.drop(slot)
		slot.hold(time.Time{}, w.ID, string(w.Kind))
		if err := r.runWindow(l, follower); err != nil {
			r.fail(err)
		}
	})
	return true
}

// idle handles a claim that got nothing: ErrNoWork, ErrPaused or a Redis error. It waits a
// poll interval before the next claim.
func (r *run) idle(s *slot, claimed time.Time, err error) {
	switch {
	case errors.Is(err, window.ErrPaused):
	case errors.Is(err, window.ErrNoWork):
		s.markEmpty(claimed)
	case r.ctx.Err() == nil:
		r.log.Warn("claim failed", "worker", s.owner, "err", err)
	}
	sleep(r.ctx, r.cfg.Timeout)
}

// windowRead is one hold of one window: what its readers (search.go, export.go) need.
type windowRead struct {
	*run
	lease  *window.Lease
	w      window.Window
	h      *holding
	log    *slog.Logger
	filter auditFilter
	// read and kept count this hold's events, for the log.
	nRead, nKept int
}

// runWindow reads a leased window from its cursor and ends the hold: Complete when read to
// the end, a release when the run stops or ingest is paused, nothing when the lease was lost
// (another replica has the window now), a park for exit-on-last-event. It returns an error
// only when the run must stop (a Fatal or NotImplemented Teleport error); other failures
// release the window for another attempt and are logged.
func (r *run) runWindow(l *window.Lease, owner string) error {
	w := l.Window()
	log := r.log.With("window", w.ID, "epoch", w.Epoch, "worker", owner)
	if w.ReplayID != "" {
		log = log.With("replay", w.ReplayID)
	}
	log.Debug("window claimed", "cursor", w.Cursor, "settle", w.Settle, "claims", w.Claims)
	wr := &windowRead{run: r, lease: l, w: w, h: r.hold(l), log: log, filter: r.filter.window(w, r.epochStart(w.Epoch))}
	err := wr.read()
	if errors.Is(err, errPark) && wr.h.lost() == nil {
		r.parked.add(wr.h)
		r.m.windowRuns.WithLabelValues(string(w.Kind), outcomeParked).Inc()
		log.Info("window read up to the start of the run; held until exit", "events", wr.nRead, "published", wr.nKept)
		return nil
	}
	h := wr.h
	h.endRenewal()
	defer h.close()
	outcome := func(o string) { r.m.windowRuns.WithLabelValues(string(w.Kind), o).Inc() }
	if err == nil {
		err = l.Complete(h.work)
		if err == nil {
			outcome(outcomeDone)
			log.Info("window done", "events", wr.nRead, "published", wr.nKept, "settle_pass", w.Settle)
			return nil
		}
	}
	switch lost := h.lost(); {
	case lost != nil || errors.Is(err, window.ErrLeaseLost):
		outcome(outcomeAbandoned)
		log.Warn("window abandoned: lease lost", "err", errors.Join(lost, err))
		return nil
	case r.releasing(err):
		r.release(h, log)
		outcome(outcomeReleased)
		log.Info("window released", "reason", err, "events", wr.nRead, "published", wr.nKept)
		return nil
	}
	r.release(h, log)
	outcome(outcomeFailed)
	if class, ok := classOf(err); ok && (class == Fatal || class == NotImplemented) {
		return fmt.Errorf("window %s: %w", w.ID, err)
	}
	log.Error("window failed; released for another attempt", "err", err)
	sleep(r.ctx, r.cfg.Timeout)
	return nil
}

// read reads the window with the reader of its kind.
func (wr *windowRead) read() error {
	if wr.filter.none {
		return nil // the configured types and the replay's have nothing in common
	}
	switch wr.w.Kind {
	case window.KindSearch:
		return wr.search()
	case window.KindExport:
		return wr.export()
	}
	return fmt.Errorf("ingest: window %s of unknown kind %q", wr.w.ID, wr.w.Kind)
}

// keep normalizes an audit event read for the window, counts it and reports whether it
// passes the window's filter.
func (wr *windowRead) keep(ev *event.Event) bool {
	ev.Kind = event.Audit
	kept := wr.filter.keep(*ev)
	wr.counted(*ev, kept)
	wr.nRead++
	if kept {
		wr.nKept++
	}
	return kept
}

// deliver publishes a page of the window (see run.deliver): a replay window's pages carry
// its id and sinks, and once published are added to the replay's event count. The count is
// progress for the admin, not state: a failure to add is logged, not fatal.
func (wr *windowRead) deliver(evs []event.Event) error {
	n, err := wr.run.deliver(wr.h.work, evs, event.Replay{ID: wr.w.ReplayID, Sinks: wr.w.Sinks})
	if err != nil || wr.w.ReplayID == "" || n == 0 {
		return err
	}
	if err := wr.store.AddReplayEvents(wr.h.work, wr.w.ReplayID, int64(n)); err != nil {
		wr.log.Warn("counting the replay's published events failed; its event count falls short", "events", n, "err", err)
	}
	return nil
}

// commit saves the window's cursor after a delivered page.
func (wr *windowRead) commit(cursor string) error {
	return wr.lease.Commit(wr.h.work, cursor)
}

// epochStart is the start of an epoch when it is the current one (export windows skip the
// events of their first day before it); zero for another epoch, whose windows are cancelled
// at their next lease operation anyway.
func (r *run) epochStart(n int64) time.Time {
	if ep := r.sharedState().Epoch; ep.Number == n {
		return ep.Start
	}
	ep, err := r.store.CurrentEpoch(r.ctx)
	if err != nil || ep.Number != n {
		return time.Time{}
	}
	return ep.Start
}
