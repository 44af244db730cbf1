package ingest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

// lease is what window.Lease and window.SessionLease share.
type lease interface {
	KeepAlive(ctx context.Context, every time.Duration) error
	Release(ctx context.Context) error
}

// holding is one lease being worked on, with the contexts its work runs under and the
// goroutine that keeps it alive.
type holding struct {
	lease lease
	// work is for publishing and committing: it ends when the lease is lost (cause: the
	// error matching window.ErrLeaseLost) or DrainTimeout after the run stopped.
	work       context.Context
	cancelWork context.CancelCauseFunc
	// fetch is for Teleport calls: it ends with work, and also as soon as the run stops.
	fetch       context.Context
	cancelFetch context.CancelCauseFunc
	stopRenew   context.CancelFunc
	renewing    chan struct{} // closed when the keep-alive goroutine returned
}

// hold starts keeping l alive, renewing every third of the lease TTL.
func (r *run) hold(l lease) *holding {
	h := &holding{lease: l, renewing: make(chan struct{})}
	h.work, h.cancelWork = context.WithCancelCause(r.hard)
	h.fetch, h.cancelFetch = context.WithCancelCause(r.ctx)
	context.AfterFunc(h.work, func() { h.cancelFetch(context.Cause(h.work)) })
	renewCtx, stopRenew := context.WithCancel(h.work)
	h.stopRenew = stopRenew
	every := max(r.cfg.Window.LeaseTTL/3, time.Millisecond)
	go func() {
		defer close(h.renewing)
		if err := l.KeepAlive(renewCtx, every); err != nil {
			h.cancelWork(err)
		}
	}()
	return h
}

// lost returns the error the lease was lost with, nil while it holds.
func (h *holding) lost() error {
	if cause := context.Cause(h.work); errors.Is(cause, window.ErrLeaseLost) {
		return cause
	}
	return nil
}

// endRenewal stops the keep-alive and waits for it, before the lease is completed or
// released.
func (h *holding) endRenewal() {
	h.stopRenew()
	<-h.renewing
}

// close ends the contexts; the lease must be ended (or lost) already.
func (h *holding) close() {
	h.cancelFetch(nil)
	h.cancelWork(nil)
}

// release gives the lease back for another replica to resume at once, under a context of its
// own: the run's may have ended. A lease lost meanwhile needs no release.
func (r *run) release(h *holding, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), releaseTimeout)
	defer cancel()
	if err := h.lease.Release(ctx); err != nil && !errors.Is(err, window.ErrLeaseLost) {
		log.Warn("release failed; the lease will expire instead", "err", err)
	}
}

// releaseTimeout bounds a Release at stop.
const releaseTimeout = 5 * time.Second

// parked holds the windows that exit-on-last-event has read up to the run's start but cannot
// complete (they end after it): kept alive, so that no worker of this run claims them again,
// and released when Run returns, for the next run to resume.
type parked struct {
	mu    sync.Mutex
	holds []*holding
}

func (p *parked) add(h *holding) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holds = append(p.holds, h)
}

func (p *parked) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.holds)
}

// releaseAll releases every parked lease.
func (p *parked) releaseAll(r *run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.holds {
		h.endRenewal()
		r.release(h, r.log)
		h.close()
	}
	p.holds = nil
}
