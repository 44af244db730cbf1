package window_test

import (
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

// TestMissingSessions: only pending jobs with a failed attempt count as missing; fresh, leased
// (even after a retry), done and failed jobs do not.
func TestMissingSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *window.Config) { c.SessionRetry.GiveUpAfter = time.Hour })
	s := e.replica()
	ctx := t.Context()
	missing := func(want int64) {
		t.Helper()
		n, err := s.MissingSessions(ctx)
		if err != nil || n != want {
			t.Fatalf("MissingSessions = %d, %v; want %d", n, err, want)
		}
	}
	missing(0)
	for _, sid := range []string{"a", "b", "c", "d"} {
		if _, err := s.EnqueueSession(ctx, sid, ""); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Millisecond) // claims take the longest-ready job first: a, b, c, d
	}
	missing(0) // fresh jobs wait for their first attempt, not for a recording

	// a: retried once → missing. b: retried, then claimed again → in progress, not missing.
	// c: done. d: given up on.
	for _, sid := range []string{"a", "b"} {
		l := mustClaimSession(t, s, "r")
		if l.Job().SessionID != sid {
			t.Fatalf("claimed %s; want %s", l.Job().SessionID, sid)
		}
		if _, err := l.Retry(ctx, "recording not found"); err != nil {
			t.Fatal(err)
		}
	}
	missing(2)
	c := mustClaimSession(t, s, "r")
	if err := c.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	d := mustClaimSession(t, s, "r")
	e.clock.Advance(time.Hour)
	if j, err := d.Retry(ctx, "gone"); err != nil || j.State != window.StateFailed {
		t.Fatalf("Retry past give-up = %+v, %v; want failed", j, err)
	}
	missing(2)
	if l := mustClaimSession(t, s, "r"); l.Job().SessionID != "a" {
		t.Fatalf("claimed %s; want a", l.Job().SessionID)
	}
	missing(1)
	wantCounts(t, "sessions", s.SessionCounts, window.Counts{Pending: 1, Leased: 1, Done: 1, Failed: 1})
}
