package window_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/testenv"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// t0 is the fake clock's start: tests read as "hours after t0".
var t0 = time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// env is one test's Redis and fake clock; replicas are Stores over their own clients.
type env struct {
	t     *testing.T
	redis *testenv.RedisServer
	clock *fakeClock
	cfg   window.Config
}

// newEnv gets a Redis for the test and a clock at t0; adjust changes the Config of every
// replica (SettleGrace is off unless a test turns it on).
func newEnv(t *testing.T, adjust ...func(*window.Config)) *env {
	t.Helper()
	r := testenv.Redis(t)
	clock := &fakeClock{now: t0}
	cfg := window.DefaultConfig()
	cfg.KeyPrefix = r.Prefix
	cfg.Clock = clock
	cfg.SettleGrace = 0
	for _, a := range adjust {
		a(&cfg)
	}
	return &env{t: t, redis: r, clock: clock, cfg: cfg}
}

// replica returns a Store with a Redis client of its own, as another process would have.
func (e *env) replica() *window.Store {
	e.t.Helper()
	s, err := window.New(e.redis.Client(e.t), e.cfg)
	if err != nil {
		e.t.Fatalf("window.New: %v", err)
	}
	return s
}

// searchWindows starts epoch 1 at start and plans windows of size up to now.
func searchWindows(t *testing.T, s *window.Store, start time.Time, size time.Duration) int {
	t.Helper()
	e, err := s.InitEpoch(t.Context(), start)
	if err != nil {
		t.Fatalf("InitEpoch: %v", err)
	}
	n, err := s.PlanSearch(t.Context(), e.Number, size)
	if err != nil {
		t.Fatalf("PlanSearch: %v", err)
	}
	return n
}

func mustClaim(t *testing.T, s *window.Store, owner string) *window.Lease {
	t.Helper()
	l, err := s.Claim(t.Context(), owner)
	if err != nil {
		t.Fatalf("Claim(%s): %v", owner, err)
	}
	return l
}

func mustWindow(t *testing.T, s *window.Store, id string) window.Window {
	t.Helper()
	w, err := s.Window(t.Context(), id)
	if err != nil {
		t.Fatalf("Window(%s): %v", id, err)
	}
	return w
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v; want %v", what, err, want)
	}
}

func wantCounts(t *testing.T, what string, got func(context.Context) (window.Counts, error), want window.Counts) {
	t.Helper()
	c, err := got(t.Context())
	if err != nil {
		t.Fatalf("%s counts: %v", what, err)
	}
	if c != want {
		t.Fatalf("%s counts = %+v; want %+v", what, c, want)
	}
}

func epochCounts(s *window.Store, epoch int64) func(context.Context) (window.Counts, error) {
	return func(ctx context.Context) (window.Counts, error) { return s.EpochCounts(ctx, epoch) }
}

// hasTag reports whether a key is under prefix and in the {ingest} slot.
func hasTag(key, prefix string) bool {
	return strings.HasPrefix(key, prefix+"{ingest}:")
}
