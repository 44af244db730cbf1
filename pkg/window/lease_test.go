package window_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

func TestClaimRenewCommitComplete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	ctx := t.Context()
	if n := searchWindows(t, s, t0.Add(-time.Hour), 2*time.Hour); n != 1 {
		t.Fatalf("planned %d windows; want 1", n)
	}

	l := mustClaim(t, s, "a")
	w := l.Window()
	if w.State != window.StateLeased || w.Owner != "a" || w.Token <= 0 || w.Token != l.Token() ||
		w.Cursor != "" || !w.Expires.Equal(t0.Add(e.cfg.LeaseTTL)) || w.Claims != 1 ||
		!w.StartedAt.Equal(t0) || w.Kind != window.KindSearch || w.Epoch != 1 {
		t.Fatalf("claimed window = %+v", w)
	}
	if !w.From.Equal(t0.Add(-time.Hour)) || !w.To.Equal(t0.Add(time.Hour)) {
		t.Fatalf("range = [%v, %v)", w.From, w.To)
	}
	wantCounts(t, "after claim", epochCounts(s, 1), window.Counts{Leased: 1})
	_, err := s.Claim(ctx, "b")
	wantErr(t, "second claim", err, window.ErrNoWork)

	e.clock.Advance(10 * time.Second)
	if err := l.Renew(ctx); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	if want := t0.Add(10*time.Second + e.cfg.LeaseTTL); !l.Expires().Equal(want) || !mustWindow(t, s, w.ID).Expires.Equal(want) {
		t.Fatalf("expiry after renew = %v (stored %v); want %v", l.Expires(), mustWindow(t, s, w.ID).Expires, want)
	}

	for _, c := range []string{"page-1", "page-2"} {
		if err := l.Commit(ctx, c); err != nil {
			t.Fatalf("Commit(%s): %v", c, err)
		}
	}
	if got := mustWindow(t, s, w.ID).Cursor; got != "page-2" || l.Window().Cursor != "page-2" {
		t.Fatalf("cursor = %q (lease %q); want page-2", got, l.Window().Cursor)
	}

	if err := l.Complete(ctx); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	done := mustWindow(t, s, w.ID)
	if done.State != window.StateDone || done.Owner != "" || done.Token != 0 || !done.FinishedAt.Equal(e.clock.Now()) {
		t.Fatalf("completed window = %+v", done)
	}
	wantCounts(t, "after complete", epochCounts(s, 1), window.Counts{Done: 1})
	_, err = s.Claim(ctx, "b")
	wantErr(t, "claim after complete", err, window.ErrNoWork)
}

// Once a lease ended, every operation under it is refused and changes nothing.
func TestLeaseOperationsAfterItEnded(t *testing.T) {
	t.Parallel()
	ends := []struct {
		name string
		end  func(ctx context.Context, e *env, s *window.Store, l *window.Lease) error
	}{
		{"completed", func(ctx context.Context, _ *env, _ *window.Store, l *window.Lease) error { return l.Complete(ctx) }},
		{"released", func(ctx context.Context, _ *env, _ *window.Store, l *window.Lease) error { return l.Release(ctx) }},
		{"reclaimed after expiry", func(ctx context.Context, e *env, s *window.Store, _ *window.Lease) error {
			e.clock.Advance(e.cfg.LeaseTTL)
			_, err := s.Claim(ctx, "b")
			return err
		}},
	}
	ops := []struct {
		name string
		op   func(ctx context.Context, l *window.Lease) error
	}{
		{"Renew", func(ctx context.Context, l *window.Lease) error { return l.Renew(ctx) }},
		{"Commit", func(ctx context.Context, l *window.Lease) error { return l.Commit(ctx, "stale") }},
		{"Complete", func(ctx context.Context, l *window.Lease) error { return l.Complete(ctx) }},
		{"Release", func(ctx context.Context, l *window.Lease) error { return l.Release(ctx) }},
	}
	for _, end := range ends {
		for _, op := range ops {
			t.Run(end.name+"/"+op.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				s := e.replica()
				ctx := t.Context()
				searchWindows(t, s, t0.Add(-time.Hour), 2*time.Hour)
				l := mustClaim(t, s, "a")
				if err := l.Commit(ctx, "kept"); err != nil {
					t.Fatal(err)
				}
				if err := end.end(ctx, e, s, l); err != nil {
					t.Fatalf("ending the lease: %v", err)
				}
				before := mustWindow(t, s, l.Window().ID)
				wantErr(t, op.name, op.op(ctx, l), window.ErrLeaseLost)
				after := mustWindow(t, s, l.Window().ID)
				if fmt.Sprint(before) != fmt.Sprint(after) {
					t.Fatalf("refused %s changed the window:\n before %+v\n after  %+v", op.name, before, after)
				}
			})
		}
	}
}

// The fencing test: replica A pauses past its lease's expiry, B claims the window, and A,
// waking up, can neither commit nor complete: the cursor stays where it was.
func TestFencingStaleHolderCannotCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.replica(), e.replica()
	ctx := t.Context()
	searchWindows(t, a, t0.Add(-time.Hour), 2*time.Hour)

	la := mustClaim(t, a, "replica-a")
	if err := la.Commit(ctx, "a-1"); err != nil {
		t.Fatal(err)
	}
	// A pauses (GC, SIGSTOP, partition): no renewals. Not expired yet: B finds nothing.
	e.clock.Advance(e.cfg.LeaseTTL - time.Millisecond)
	_, err := b.Claim(ctx, "replica-b")
	wantErr(t, "claim before expiry", err, window.ErrNoWork)
	e.clock.Advance(time.Millisecond)

	lb := mustClaim(t, b, "replica-b")
	if lb.Window().ID != la.Window().ID || lb.Token() <= la.Token() || lb.Window().Cursor != "a-1" {
		t.Fatalf("B claimed %+v (token %d); want A's window with cursor a-1 and a token over %d",
			lb.Window(), lb.Token(), la.Token())
	}

	// A wakes up and carries on as if it still held the window.
	wantErr(t, "A commits", la.Commit(ctx, "a-2"), window.ErrLeaseLost)
	wantErr(t, "A commits an old cursor", la.Commit(ctx, ""), window.ErrLeaseLost)
	wantErr(t, "A renews", la.Renew(ctx), window.ErrLeaseLost)
	wantErr(t, "A completes", la.Complete(ctx), window.ErrLeaseLost)
	wantErr(t, "A releases", la.Release(ctx), window.ErrLeaseLost)
	w := mustWindow(t, a, lb.Window().ID)
	if w.Cursor != "a-1" || w.State != window.StateLeased || w.Owner != "replica-b" || w.Token != lb.Token() {
		t.Fatalf("after A's stale writes: %+v; want cursor a-1 leased to B", w)
	}

	if err := lb.Commit(ctx, "b-1"); err != nil {
		t.Fatalf("B commits: %v", err)
	}
	if err := lb.Complete(ctx); err != nil {
		t.Fatalf("B completes: %v", err)
	}
	if w := mustWindow(t, a, lb.Window().ID); w.Cursor != "b-1" || w.State != window.StateDone || w.Claims != 2 {
		t.Fatalf("after B: %+v", w)
	}
}

// An expired lease that nobody claimed may still be renewed by its holder.
func TestRenewAfterExpiryWhenUnclaimed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	searchWindows(t, s, t0.Add(-time.Hour), 2*time.Hour)
	l := mustClaim(t, s, "a")
	e.clock.Advance(2 * e.cfg.LeaseTTL)
	if err := l.Renew(t.Context()); err != nil {
		t.Fatalf("Renew after expiry: %v", err)
	}
	_, err := s.Claim(t.Context(), "b")
	wantErr(t, "claim after renewal", err, window.ErrNoWork)
}

func TestReleaseKeepsCursorAndIsClaimedFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	ctx := t.Context()
	searchWindows(t, s, t0.Add(-10*time.Hour), time.Hour) // 11 windows, the tail holds t0
	l := mustClaim(t, s, "a")
	if got := l.Window(); !got.From.Equal(t0) {
		t.Fatalf("first claim got [%v, %v); want the tail from %v", got.From, got.To, t0)
	}
	older := mustClaim(t, s, "a")
	if err := older.Commit(ctx, "half"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	if err := older.Release(ctx); err != nil {
		t.Fatalf("Release: %v", err)
	}
	wantCounts(t, "after release", epochCounts(s, 1), window.Counts{Pending: 10, Leased: 1})
	again := mustClaim(t, s, "b")
	if w := again.Window(); w.ID != older.Window().ID || w.Cursor != "half" || w.Claims != 2 || !w.StartedAt.Equal(t0) {
		t.Fatalf("claim after release got %+v; want the released window with cursor half", w)
	}
}

// Many workers of two replicas claim at once: each window goes to exactly one of them.
func TestTwoReplicasNeverHoldTheSameWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	replicas := []*window.Store{e.replica(), e.replica()}
	const windows = 60
	searchWindows(t, replicas[0], t0.Add(-(windows-1)*time.Hour), time.Hour)

	var mu sync.Mutex
	holders := map[string][]string{}
	var wg sync.WaitGroup
	for r, s := range replicas {
		for w := range 8 {
			owner := fmt.Sprintf("replica-%d/worker-%d", r, w)
			wg.Go(func() {
				for {
					l, err := s.Claim(t.Context(), owner)
					if errors.Is(err, window.ErrNoWork) {
						return
					}
					if err != nil {
						t.Errorf("Claim: %v", err)
						return
					}
					mu.Lock()
					holders[l.Window().ID] = append(holders[l.Window().ID], owner)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if len(holders) != windows {
		t.Fatalf("%d windows claimed; want %d", len(holders), windows)
	}
	for id, h := range holders {
		if len(h) != 1 {
			t.Errorf("window %s held by %v", id, h)
		}
	}
	wantCounts(t, "all claimed", epochCounts(replicas[0], 1), window.Counts{Leased: windows})
}

func TestKeepAlive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	searchWindows(t, s, t0.Add(-time.Hour), 2*time.Hour)
	l := mustClaim(t, s, "a")

	wantErr(t, "zero interval", l.KeepAlive(t.Context(), 0), window.ErrInvalid)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.KeepAlive(ctx, time.Millisecond) }()
	e.clock.Advance(time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for !l.Expires().After(e.clock.Now()) {
		if time.Now().After(deadline) {
			t.Fatalf("KeepAlive did not renew: expires %v, now %v", l.Expires(), e.clock.Now())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("KeepAlive after cancel = %v; want nil", err)
	}

	// Withdrawn work ends KeepAlive with ErrCancelled.
	go func() { done <- l.KeepAlive(t.Context(), time.Millisecond) }()
	if _, err := s.ResetEpoch(t.Context(), t0); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		wantErr(t, "KeepAlive after reset", err, window.ErrCancelled)
	case <-time.After(5 * time.Second):
		t.Fatal("KeepAlive did not stop after the epoch reset")
	}
}

// A token is honoured only with the owner it was granted to: were a Redis failover to lose the
// last writes and hand a token out twice, the first holder would still be refused.
func TestLeaseNeedsTokenAndOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.replica()
	ctx := t.Context()
	searchWindows(t, s, t0.Add(-time.Hour), 2*time.Hour)
	l := mustClaim(t, s, "a")
	// Another owner now holds the window under the same token.
	key := e.redis.Prefix + "{ingest}:win:" + l.Window().ID
	if err := e.redis.Client(t).HSet(ctx, key, "owner", "b").Err(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "commit under another owner", l.Commit(ctx, "x"), window.ErrLeaseLost)
	if w := mustWindow(t, s, l.Window().ID); w.Cursor != "" || w.State != window.StateLeased {
		t.Fatalf("window after a refused commit = %+v", w)
	}
	_, err := s.Window(ctx, "no-such-window")
	wantErr(t, "Window of a missing id", err, window.ErrNotFound)
}
