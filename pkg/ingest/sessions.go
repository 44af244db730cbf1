package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// sessionStreamAttempts is how many times in a row a recording's stream may break
// transiently, without progress, before its job is handed back to be retried later.
const sessionStreamAttempts = 5

// sessionWorker claims session jobs and streams their recordings, one at a time, until the
// run stops. Nothing a job does stops the run or other jobs.
func (r *run) sessionWorker(n int) {
	owner := fmt.Sprintf("%s/s%d", r.cfg.Owner, n)
	slot := r.activity.slot(owner)
	for r.ctx.Err() == nil {
		claimed := time.Now()
		l, err := r.store.ClaimSession(r.ctx, owner)
		if err != nil {
			r.idle(slot, claimed, err)
			continue
		}
		slot.hold(claimed, l.Job().ID, "session")
		r.runSession(l, owner)
		slot.free()
	}
}

// runSession streams a leased job's recording from its saved index and ends the hold:
// Complete at the end of the recording; Retry (pending again after a backoff, or failed once
// window.Config.SessionRetry gives up, which is logged as an error) when the recording is not
// found or its stream keeps failing; a release when the run stops or ingest is paused;
// nothing when the lease was lost.
func (r *run) runSession(l *window.SessionLease, owner string) {
	job := l.Job()
	log := r.log.With("session", job.SessionID, "job", job.ID, "worker", owner, "attempt", job.Attempts+1)
	log.Debug("session job claimed", "index", job.Index)
	h := r.hold(l)
	events, err := r.stream(l, h, job)
	h.endRenewal()
	defer h.close()
	outcome := func(o string) { r.m.sessionRuns.WithLabelValues(o).Inc() }
	if err == nil {
		err = l.Complete(h.work)
		if err == nil {
			outcome(outcomeDone)
			log.Debug("recording streamed", "events", events)
			return
		}
	}
	switch lost := h.lost(); {
	case lost != nil || errors.Is(err, window.ErrLeaseLost):
		outcome(outcomeAbandoned)
		log.Warn("session job abandoned: lease lost", "err", errors.Join(lost, err))
		return
	case r.releasing(err):
		r.release(h, log)
		outcome(outcomeReleased)
		return
	}
	j, rerr := l.Retry(h.work, err.Error())
	switch {
	case rerr != nil:
		r.release(h, log)
		outcome(outcomeFailed)
		log.Warn("session job failed and could not be rescheduled; released", "err", err, "retry_err", rerr)
	case j.State == window.StateFailed:
		outcome(outcomeGivenUp)
		log.Error("recording given up on", "err", err, "attempts", j.Attempts, "enqueued", j.EnqueuedAt)
	default:
		outcome(outcomeRetry)
		log.Info("recording not streamed; retrying later", "err", err, "next_attempt", j.ReadyAt, "index", j.Index)
	}
}

// stream streams the recording from the job's index in pages of Batch events: the kept events
// (skip-session-types) are delivered, then the index after the page's last event committed,
// so skipped events still move it. Stream breaks are retried with backoff from the last
// commit, up to sessionStreamAttempts times without progress. It returns the events read.
// A replay's recording goes to the replay's sinks only, as its audit events do.
func (r *run) stream(l *window.SessionLease, h *holding, job window.SessionJob) (int, error) {
	replay, err := r.replayOf(h.work, job.ReplayID)
	if err != nil {
		return 0, err
	}
	index := job.Index
	rt := r.retrier("session-events")
	read, failures := 0, 0
	for {
		var page []event.Event
		next, scanned := index, 0
		err := r.src.SessionEvents(h.fetch, job.SessionID, index, func(ev event.Event) error {
			ev.Kind = event.Session
			if ev.SessionID == "" {
				ev.SessionID = job.SessionID // print events carry no sid of their own
			}
			next = max(next, ev.Index+1)
			kept := r.filter.session(ev.Type)
			r.counted(ev, kept)
			if kept {
				page = append(page, ev)
			}
			scanned++
			read++
			if scanned < r.cfg.Batch {
				return nil
			}
			if _, err := r.deliver(h.work, page, replay); err != nil {
				return yielded(err)
			}
			if err := l.Commit(h.work, next); err != nil {
				return yielded(err)
			}
			index, page, scanned, failures = next, nil, 0, 0
			rt.progress()
			return yielded(r.between())
		})
		if err == nil {
			_, err := r.deliver(h.work, page, replay)
			return read, err
		}
		if own, ok := fromYield(err); ok {
			return read, own
		}
		if err := rt.failed(h.fetch, err); err != nil {
			return read, err
		}
		if failures++; failures >= sessionStreamAttempts {
			return read, fmt.Errorf("ingest: recording stream broke %d times in a row: %w", failures, err)
		}
	}
}

// replayOf returns the Replay a recording job of replay id publishes under: its id and the
// sinks the replay is for (read from Redis; the zero Replay for id ""). A replay that no
// longer exists restricts no sink: its events are a deliberate re-export either way, and
// delivering them to a sink too many beats losing them.
func (r *run) replayOf(ctx context.Context, id string) (event.Replay, error) {
	if id == "" {
		return event.Replay{}, nil
	}
	rp, err := r.store.Replay(ctx, id)
	switch {
	case errors.Is(err, window.ErrNotFound):
		r.log.Warn("recording of a replay that no longer exists; its events go to every sink", "replay", id)
		return event.Replay{ID: id}, nil
	case err != nil:
		return event.Replay{}, err
	}
	return event.Replay{ID: id, Sinks: rp.Sinks}, nil
}
