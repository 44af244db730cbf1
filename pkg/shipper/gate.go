package shipper

import (
	"context"
	"sync"
	"time"
)

// gate holds back a worker's pulls while its sink is blocked or asked for a pause (a
// RetryAfter). It is safe for concurrent use.
type gate struct {
	gauge interface{ Set(float64) } // auditpipe_shipper_sink_blocked{sink}

	mu          sync.Mutex
	blocked     bool
	since       time.Time
	reason      string
	pausedUntil time.Time
	changed     chan struct{} // closed and replaced when blocked or pausedUntil changes
}

func newGate(gauge interface{ Set(float64) }) *gate {
	return &gate{gauge: gauge, changed: make(chan struct{})}
}

// wait returns once the sink is neither blocked nor paused, or with ctx's error.
func (g *gate) wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		blocked, until, changed := g.blocked, g.pausedUntil, g.changed
		g.mu.Unlock()
		d := time.Until(until)
		if !blocked && d <= 0 {
			return nil
		}
		var (
			timer   *time.Timer
			timeout <-chan time.Time
		)
		if !blocked {
			timer = time.NewTimer(d)
			timeout = timer.C
		}
		select {
		case <-changed:
		case <-timeout:
		case <-ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// block records that the sink refused a delivery for reason; it reports whether the sink was
// not blocked before.
func (g *gate) block(reason string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reason = reason
	if g.blocked {
		return false
	}
	g.blocked, g.since = true, time.Now()
	g.gauge.Set(1)
	g.notify()
	return true
}

// unblock records that the sink answered a delivery; it reports whether the sink was blocked
// and how long.
func (g *gate) unblock() (bool, time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.blocked {
		return false, 0
	}
	g.blocked = false
	g.gauge.Set(0)
	g.notify()
	return true, time.Since(g.since)
}

// pause holds back pulls for d from now, unless a longer pause is on.
func (g *gate) pause(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if until := time.Now().Add(d); until.After(g.pausedUntil) {
		g.pausedUntil = until
		g.notify()
	}
}

// state returns whether the sink is blocked, since when and the last refusal's reason.
func (g *gate) state() (bool, time.Time, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.blocked, g.since, g.reason
}

// notify wakes every wait; g.mu is held.
func (g *gate) notify() {
	close(g.changed)
	g.changed = make(chan struct{})
}
