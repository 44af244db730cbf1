package window_test

import (
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

// Every key the package writes is under the prefix and in the {ingest} hash slot, so that
// every script's keys share one Redis Cluster slot.
func TestEveryKeyIsInTheIngestSlot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *window.Config) { c.SettleGrace = time.Minute })
	s := e.replica()
	ctx := t.Context()
	searchWindows(t, s, t0.Add(-2*time.Hour), time.Hour)
	if _, err := s.EnsureExport(ctx, 1, t0, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateReplay(ctx, window.ReplaySpec{ID: "r", From: t0.Add(-time.Hour), To: t0, WindowSize: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnqueueSession(ctx, "sid", ""); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		l := mustClaim(t, s, "a")
		if err := l.Complete(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ClaimSession(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	el, err := s.NewElection("planner", "a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := el.Acquire(ctx); err != nil {
		t.Fatal(err)
	}

	keys, err := e.redis.Client(t).Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 15 {
		t.Fatalf("only %d keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !hasTag(k, e.redis.Prefix) {
			t.Errorf("key %q is not under %q{ingest}:", k, e.redis.Prefix)
		}
	}
}
