package window_test

import (
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

func TestStartTimeAppliesOnFirstStartOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	ctx := t.Context()

	_, err := s.CurrentEpoch(ctx)
	wantErr(t, "epoch before the first start", err, window.ErrNotFound)
	_, err = s.InitEpoch(ctx, time.Time{})
	wantErr(t, "zero start", err, window.ErrInvalid)

	first := t0.Add(-48 * time.Hour)
	ep, err := s.InitEpoch(ctx, first)
	if err != nil || ep.Number != 1 || !ep.Start.Equal(first) || !ep.PlannedUntil.Equal(first) || !ep.CreatedAt.Equal(t0) {
		t.Fatalf("first InitEpoch = %+v, %v", ep, err)
	}
	// A restart with another start-time in the configuration changes nothing.
	e.clock.Advance(time.Hour)
	ep, err = e.replica().InitEpoch(ctx, t0.Add(-time.Hour))
	if err != nil || ep.Number != 1 || !ep.Start.Equal(first) || !ep.CreatedAt.Equal(t0) {
		t.Fatalf("second InitEpoch = %+v, %v; want epoch 1 from %v", ep, err, first)
	}
	cur, err := s.CurrentEpoch(ctx)
	if err != nil || cur != ep {
		t.Fatalf("CurrentEpoch = %+v, %v; want %+v", cur, err, ep)
	}
}

// A start-time reset begins a new epoch: the old epoch's windows are withdrawn, the new one's
// are planned from the new start.
func TestResetEpochWithdrawsThePreviousEpoch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	ctx := t.Context()
	searchWindows(t, s, t0.Add(-3*time.Hour), time.Hour) // 4 windows
	held := mustClaim(t, s, "a")
	if err := held.Commit(ctx, "old"); err != nil {
		t.Fatal(err)
	}

	newStart := t0.Add(-90 * time.Minute)
	ep, err := s.ResetEpoch(ctx, newStart)
	if err != nil || ep.Number != 2 || !ep.Start.Equal(newStart) || !ep.PlannedUntil.Equal(newStart) {
		t.Fatalf("ResetEpoch = %+v, %v", ep, err)
	}
	if cur, _ := s.CurrentEpoch(ctx); cur != ep {
		t.Fatalf("CurrentEpoch = %+v; want %+v", cur, ep)
	}
	// A configured start-time no longer applies.
	if again, _ := s.InitEpoch(ctx, t0.Add(-100*time.Hour)); again != ep {
		t.Fatalf("InitEpoch after reset = %+v; want %+v", again, ep)
	}

	// Old epoch: nothing claimable, the holder is told to stop, planning is refused.
	_, err = s.Claim(ctx, "b")
	wantErr(t, "claim before the new epoch is planned", err, window.ErrNoWork)
	err = held.Commit(ctx, "newer")
	wantErr(t, "commit in the old epoch", err, window.ErrCancelled)
	wantErr(t, "commit in the old epoch (as lease lost)", err, window.ErrLeaseLost)
	if w := mustWindow(t, s, held.Window().ID); w.State != window.StateCancelled || w.Cursor != "old" {
		t.Fatalf("withdrawn window = %+v", w)
	}
	wantCounts(t, "old epoch", epochCounts(s, 1), window.Counts{Pending: 3, Cancelled: 1})
	_, err = s.PlanSearch(ctx, 1, time.Hour)
	wantErr(t, "planning the old epoch", err, window.ErrEpochChanged)

	// New epoch: windows from the new start.
	if n, err := s.PlanSearch(ctx, 2, time.Hour); n != 2 || err != nil {
		t.Fatalf("PlanSearch(2) = %d, %v; want 2", n, err)
	}
	l := mustClaim(t, s, "b")
	if w := l.Window(); w.Epoch != 2 || !w.From.Equal(newStart.Add(time.Hour)) || w.Cursor != "" {
		t.Fatalf("claimed %+v; want epoch 2's tail", w)
	}
	wantErr(t, "reset with a zero start", func() error { _, err := s.ResetEpoch(ctx, time.Time{}); return err }(), window.ErrInvalid)
}
