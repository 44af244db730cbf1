package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

// plan is one planning round for the current epoch (the window.PlanFunc, run by the leading
// replica every Timeout): search windows up to now, or export windows for the chunks listed.
// A mode conflict, or a Fatal or NotImplemented Teleport error, stops the run; other failures
// are the round's, logged by the planner and tried again next round.
func (r *run) plan(ctx context.Context, epoch window.Epoch) error {
	err := r.planRound(ctx, epoch)
	if class, ok := classOf(err); errors.Is(err, ErrModeConflict) || ok && (class == Fatal || class == NotImplemented) {
		r.fail(fmt.Errorf("planning epoch %d: %w", epoch.Number, err))
	}
	return err
}

func (r *run) planRound(ctx context.Context, epoch window.Epoch) error {
	mode, err := r.modeFor(ctx, epoch)
	if err != nil {
		return err
	}
	if mode == ModeExport {
		return r.planExport(ctx, epoch)
	}
	n, err := r.store.PlanSearch(ctx, epoch.Number, r.cfg.searchSpan())
	if n > 0 {
		r.log.Info("search windows planned", "epoch", epoch.Number, "windows", n, "span", r.cfg.searchSpan())
	}
	return err
}

// planOnce plans the epoch once, for exit-on-last-event, trying again every Timeout until a
// round succeeds. It returns the error that stops the run, or nil (also when the run stops).
func (r *run) planOnce(epoch window.Epoch) error {
	for {
		err := r.planRound(r.ctx, epoch)
		if err == nil || r.ctx.Err() != nil {
			return nil
		}
		if class, ok := classOf(err); errors.Is(err, ErrModeConflict) || ok && (class == Fatal || class == NotImplemented) {
			return err
		}
		r.log.Warn("planning failed; trying again", "epoch", epoch.Number, "err", err)
		if !sleep(r.ctx, r.cfg.Timeout) {
			return nil
		}
	}
}

// exportPlan is how far the export planner got: days before next were listed in a round that
// was past them by more than ExportRecentDays, and are not listed again. It is in memory, so
// a new leader lists every day of the epoch once more (idempotent: EnsureExport creates only
// the windows missing).
type exportPlan struct {
	mu    sync.Mutex
	epoch int64
	next  time.Time
}

// planExport lists the export chunks of every UTC day from the epoch's start (or from where
// the last round left off) to today, and makes sure each has a window. The last
// ExportRecentDays days and today are listed again every round: chunks can appear there late.
func (r *run) planExport(ctx context.Context, epoch window.Epoch) error {
	p := &r.exportPlan
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.epoch != epoch.Number {
		p.epoch, p.next = epoch.Number, utcDay(epoch.Start)
	}
	today := utcDay(r.cfg.now())
	recent := today.AddDate(0, 0, -r.cfg.ExportRecentDays)
	rt := r.retrier("export-chunks")
	for day := p.next; !day.After(today); day = day.AddDate(0, 0, 1) {
		chunks, err := call(ctx, rt, func() ([]string, error) { return r.src.ExportChunks(ctx, day) })
		if class, ok := classOf(err); ok && class == NotFound {
			chunks, err = nil, nil // a day Teleport knows nothing of has no chunks
		}
		if err != nil {
			return fmt.Errorf("list the chunks of %s: %w", day.Format(time.DateOnly), err)
		}
		if len(chunks) > 0 {
			n, err := r.store.EnsureExport(ctx, epoch.Number, day, chunks...)
			if err != nil {
				return err
			}
			if n > 0 {
				r.log.Info("export windows planned", "epoch", epoch.Number, "day", day.Format(time.DateOnly), "windows", n, "chunks", len(chunks))
			}
		}
		if day.Before(recent) {
			p.next = day.AddDate(0, 0, 1)
		}
	}
	return nil
}

// utcDay is the UTC midnight that starts t's day.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
