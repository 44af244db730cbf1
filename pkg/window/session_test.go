package window_test

import (
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

func mustClaimSession(t *testing.T, s *window.Store, owner string) *window.SessionLease {
	t.Helper()
	l, err := s.ClaimSession(t.Context(), owner)
	if err != nil {
		t.Fatalf("ClaimSession(%s): %v", owner, err)
	}
	return l
}

func TestSessionJobStreamsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	ctx := t.Context()
	for i, want := range []bool{true, false} {
		created, err := s.EnqueueSession(ctx, "sid-1", "")
		if err != nil || created != want {
			t.Fatalf("EnqueueSession #%d = %v, %v; want %v", i+1, created, err, want)
		}
	}
	e.clock.Advance(time.Second) // claims take the longest-ready job first
	if created, err := s.EnqueueSession(ctx, "sid-1", "r1"); err != nil || !created {
		t.Fatalf("EnqueueSession for a replay = %v, %v; want a job of its own", created, err)
	}
	_, err := s.EnqueueSession(ctx, "", "")
	wantErr(t, "empty sid", err, window.ErrInvalid)

	l := mustClaimSession(t, s, "a")
	if j := l.Job(); j.ID != "sid-1" || j.SessionID != "sid-1" || j.State != window.StateLeased || j.Owner != "a" ||
		j.Index != 0 || !j.EnqueuedAt.Equal(t0) || !j.Expires.Equal(e.clock.Now().Add(e.cfg.LeaseTTL)) {
		t.Fatalf("claimed job = %+v", j)
	}
	r := mustClaimSession(t, s, "b")
	if j := r.Job(); j.ID != "r:r1:sid-1" || j.ReplayID != "r1" {
		t.Fatalf("second claim = %+v; want the replay's job", j)
	}
	_, err = s.ClaimSession(ctx, "c")
	wantErr(t, "third claim", err, window.ErrNoWork)

	if err := l.Commit(ctx, 41); err != nil {
		t.Fatal(err)
	}
	// A's lease expires and B takes the job over from the saved index; A is fenced off.
	e.clock.Advance(e.cfg.LeaseTTL)
	if err := r.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	b := mustClaimSession(t, s, "b")
	if j := b.Job(); j.ID != "sid-1" || j.Index != 41 || b.Token() <= l.Token() {
		t.Fatalf("takeover = %+v", j)
	}
	wantErr(t, "stale commit", l.Commit(ctx, 99), window.ErrLeaseLost)
	wantErr(t, "stale complete", l.Complete(ctx), window.ErrLeaseLost)
	_, err = l.Retry(ctx, "x")
	wantErr(t, "stale retry", err, window.ErrLeaseLost)

	if err := b.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	j, err := s.Session(ctx, "sid-1", "")
	if err != nil || j.State != window.StateDone || j.Index != 41 || j.Claims != 2 || !j.FinishedAt.Equal(e.clock.Now()) {
		t.Fatalf("done job = %+v, %v", j, err)
	}
	if created, _ := s.EnqueueSession(ctx, "sid-1", ""); created {
		t.Fatal("a done job was queued again")
	}
	if err := r.Release(ctx); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "sessions", s.SessionCounts, window.Counts{Done: 1, Pending: 1})
	_, err = s.Session(ctx, "nope", "")
	wantErr(t, "missing job", err, window.ErrNotFound)
}

// A recording that never appears is retried with backoff, then given up on 48 h after the job
// was queued, with the last attempt at that time.
func TestSessionJobBacksOffThenGivesUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	ctx := t.Context()
	b := e.cfg.SessionRetry
	if _, err := s.EnqueueSession(ctx, "sid-missing", ""); err != nil {
		t.Fatal(err)
	}
	deadline := t0.Add(b.GiveUpAfter)

	var delays []time.Duration
	var last window.SessionJob
	for attempt := 1; ; attempt++ {
		l := mustClaimSession(t, s, "a")
		if attempt == 1 {
			if err := l.Commit(ctx, 7); err != nil {
				t.Fatal(err)
			}
		}
		now := e.clock.Now()
		j, err := l.Retry(ctx, "recording not found")
		if err != nil {
			t.Fatalf("Retry #%d: %v", attempt, err)
		}
		stored, err := s.Session(ctx, "sid-missing", "")
		if err != nil {
			t.Fatal(err)
		}
		if stored.State != j.State || !stored.ReadyAt.Equal(j.ReadyAt) || stored.Attempts != int64(attempt) ||
			j.Attempts != int64(attempt) || stored.LastError != "recording not found" || stored.Index != 7 {
			t.Fatalf("Retry #%d returned %+v, stored %+v", attempt, j, stored)
		}
		last = stored
		if j.State == window.StateFailed {
			if !now.Equal(deadline) {
				t.Fatalf("gave up at %v; want the last attempt at %v", now, deadline)
			}
			break
		}
		if j.State != window.StatePending {
			t.Fatalf("state after Retry = %s", j.State)
		}
		delays = append(delays, j.ReadyAt.Sub(now))
		// Not before its time, then at its time.
		e.clock.Set(j.ReadyAt.Add(-time.Millisecond))
		_, err = s.ClaimSession(ctx, "a")
		wantErr(t, "claim before the next attempt", err, window.ErrNoWork)
		e.clock.Set(j.ReadyAt)
		if attempt > 1000 {
			t.Fatal("never gave up")
		}
	}

	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, b.Max, b.Max}
	for i, d := range want {
		if delays[i] != d {
			t.Fatalf("delays = %v; want them to start %v", delays[:len(want)], want)
		}
	}
	if last.State != window.StateFailed || !last.FinishedAt.Equal(deadline) || last.Owner != "" {
		t.Fatalf("given up job = %+v", last)
	}
	_, err := s.ClaimSession(ctx, "a")
	wantErr(t, "claim a failed job", err, window.ErrNoWork)
	wantCounts(t, "sessions", s.SessionCounts, window.Counts{Failed: 1})
}
