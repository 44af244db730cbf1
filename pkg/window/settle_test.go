package window_test

import (
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

func TestSettlePass(t *testing.T) {
	t.Parallel()
	const grace = 10 * time.Minute
	e := newEnv(t, func(c *window.Config) { c.SettleGrace = grace })
	s := e.replica()
	ctx := t.Context()
	// The tail [t0-30m, t0+30m), read while it is live.
	searchWindows(t, s, t0.Add(-30*time.Minute), time.Hour)

	l := mustClaim(t, s, "a")
	e.clock.Advance(31 * time.Minute) // the window has closed
	if err := l.Commit(ctx, "end"); err != nil {
		t.Fatal(err)
	}
	if err := l.Complete(ctx); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	settleAt := t0.Add(30*time.Minute + grace)
	w := mustWindow(t, s, l.Window().ID)
	if w.State != window.StatePending || !w.Settle || w.Cursor != "" || !w.ReadyAt.Equal(settleAt) ||
		!w.StartedAt.IsZero() || !w.FinishedAt.IsZero() {
		t.Fatalf("after the first pass: %+v; want pending for a settle pass at %v", w, settleAt)
	}
	// PlanSearch made the next tail meanwhile; leave it out of the way.
	if n, err := s.PlanSearch(ctx, 1, time.Hour); err != nil || n != 1 {
		t.Fatalf("PlanSearch = %d, %v", n, err)
	}
	next := mustClaim(t, s, "a")

	e.clock.Set(settleAt.Add(-time.Millisecond))
	if err := next.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := s.Claim(ctx, "b")
	wantErr(t, "claim before the grace ends", err, window.ErrNoWork)
	e.clock.Set(settleAt)
	sl := mustClaim(t, s, "b")
	if got := sl.Window(); got.ID != w.ID || !got.Settle || got.Cursor != "" || got.Claims != 2 {
		t.Fatalf("settle claim = %+v", got)
	}
	if err := sl.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	if w := mustWindow(t, s, w.ID); w.State != window.StateDone || !w.Settle {
		t.Fatalf("after the settle pass: %+v; want done", w)
	}
	if err := next.Release(ctx); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "settled", epochCounts(s, 1), window.Counts{Done: 1, Pending: 1})
}

// A window first read after To + grace, and any export window, needs no settle pass.
func TestNoSettlePassWhenNotNeeded(t *testing.T) {
	t.Parallel()
	const grace = 10 * time.Minute
	e := newEnv(t, func(c *window.Config) { c.SettleGrace = grace })
	s := e.replica()
	ctx := t.Context()
	// [t0-2h, t0-1h) of a backfill is read 1h after its end, past the grace; [t0-1h, t0) ended
	// under the grace ago, and the tail [t0, t0+1h) is live.
	searchWindows(t, s, t0.Add(-2*time.Hour), time.Hour)
	if _, err := s.EnsureExport(ctx, 1, t0.Add(-72*time.Hour), "chunk"); err != nil {
		t.Fatal(err)
	}
	states := map[string]window.State{}
	for range 4 {
		l := mustClaim(t, s, "a")
		if err := l.Complete(ctx); err != nil {
			t.Fatal(err)
		}
		w := mustWindow(t, s, l.Window().ID)
		states[string(w.Kind)+" "+w.From.Format(time.TimeOnly)] = w.State
	}
	want := map[string]window.State{
		"search 10:00:00": window.StateDone,    // backfill
		"search 11:00:00": window.StatePending, // settle pass
		"search 12:00:00": window.StatePending, // tail: settle pass
		"export 00:00:00": window.StateDone,
	}
	for k, v := range want {
		if states[k] != v {
			t.Errorf("%s: %s; want %s (all: %v)", k, states[k], v, states)
		}
	}
}
