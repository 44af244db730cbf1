package window_test

import (
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

func TestPause(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	ctx := t.Context()
	searchWindows(t, s, t0.Add(-time.Hour), time.Hour) // 2 windows
	if _, err := s.EnqueueSession(ctx, "sid-1", ""); err != nil {
		t.Fatal(err)
	}
	held := mustClaim(t, s, "a")

	if err := s.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if err := s.Pause(ctx); err != nil { // idempotent, keeps the first time
		t.Fatal(err)
	}
	paused, since, err := s.Paused(ctx)
	if err != nil || !paused || !since.Equal(t0) {
		t.Fatalf("Paused = %v, %v, %v; want true since %v", paused, since, err, t0)
	}
	_, err = s.Claim(ctx, "b")
	wantErr(t, "claim while paused", err, window.ErrPaused)
	wantErr(t, "claim while paused (as no work)", err, window.ErrNoWork)
	_, err = s.ClaimSession(ctx, "b")
	wantErr(t, "session claim while paused", err, window.ErrPaused)
	// Leases held go on.
	if err := held.Commit(ctx, "c"); err != nil {
		t.Fatalf("commit while paused: %v", err)
	}

	if err := s.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if paused, _, err := s.Paused(ctx); err != nil || paused {
		t.Fatalf("Paused after resume = %v, %v", paused, err)
	}
	mustClaim(t, s, "b")
	if _, err := s.ClaimSession(ctx, "b"); err != nil {
		t.Fatalf("session claim after resume: %v", err)
	}
}
