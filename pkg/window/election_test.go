package window_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/window"
)

func newElection(t *testing.T, s *window.Store, owner string, ttl time.Duration) *window.Election {
	t.Helper()
	el, err := s.NewElection("test", owner, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return el
}

func TestElectionSingleLeaderAndFailover(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	const ttl = time.Second
	els := make([]*window.Election, 6)
	for i := range els {
		els[i] = newElection(t, e.replica(), fmt.Sprintf("replica-%d", i), ttl)
	}

	var leaders atomic.Int32
	var wg sync.WaitGroup
	for _, el := range els {
		wg.Go(func() {
			ok, err := el.Acquire(ctx)
			if err != nil {
				t.Errorf("Acquire: %v", err)
			}
			if ok {
				leaders.Add(1)
			}
		})
	}
	wg.Wait()
	if leaders.Load() != 1 {
		t.Fatalf("%d leaders; want 1", leaders.Load())
	}
	var leader *window.Election
	var followers []*window.Election
	for _, el := range els {
		if el.Term() > 0 {
			leader = el
		} else {
			followers = append(followers, el)
		}
	}
	owner, term, err := leader.Leader(ctx)
	if err != nil || term != leader.Term() || owner == "" {
		t.Fatalf("Leader = %q, %d, %v; want the winner's term %d", owner, term, err, leader.Term())
	}
	wantErr(t, "follower renews", followers[0].Renew(ctx), window.ErrLeaseLost)
	if ok, err := leader.Acquire(ctx); !ok || err != nil {
		t.Fatalf("leader Acquire again = %v, %v; want a renewal", ok, err)
	}

	// The leader pauses past its TTL: a follower takes over in a new term, and the old leader
	// cannot renew or resign the new term away.
	oldTerm := leader.Term()
	time.Sleep(ttl + 100*time.Millisecond)
	next := followers[1]
	if ok, err := next.Acquire(ctx); !ok || err != nil {
		t.Fatalf("Acquire after the leader's TTL = %v, %v", ok, err)
	}
	if next.Term() <= oldTerm {
		t.Fatalf("new term %d is not after %d", next.Term(), oldTerm)
	}
	wantErr(t, "old leader renews", leader.Renew(ctx), window.ErrLeaseLost)
	if leader.Term() != 0 {
		t.Fatalf("old leader's Term = %d after losing; want 0", leader.Term())
	}
	if err := leader.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if _, term, err := next.Leader(ctx); err != nil || term != next.Term() {
		t.Fatalf("after the old leader resigned: term %d, %v; want the new leader's %d", term, err, next.Term())
	}
	if ok, _ := followers[2].Acquire(ctx); ok {
		t.Fatal("a third replica took a held leadership")
	}

	// Resign hands over at once.
	if err := next.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := followers[2].Acquire(ctx); !ok || err != nil {
		t.Fatalf("Acquire after Resign = %v, %v", ok, err)
	}
}

func TestNewElectionRejects(t *testing.T) {
	t.Parallel()
	s := newEnv(t).replica()
	tests := []struct {
		name, task, owner string
		ttl               time.Duration
	}{
		{"no name", "", "a", time.Second},
		{"no owner", "p", "", time.Second},
		{"owner with #", "p", "a#1", time.Second},
		{"no ttl", "p", "a", 0},
	}
	for _, tt := range tests {
		_, err := s.NewElection(tt.task, tt.owner, tt.ttl)
		wantErr(t, tt.name, err, window.ErrInvalid)
	}
}

// Planners in three replicas: one plans at a time; when it stops, another takes over.
func TestPlannerOneLeaderAtATime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	start := t0.Add(-5 * time.Hour)

	var mu sync.Mutex
	var rounds []string // owner of each round
	var active atomic.Int32
	cancels := map[string]context.CancelFunc{}
	var wg sync.WaitGroup
	for i := range 3 {
		s := e.replica()
		owner := fmt.Sprintf("replica-%d", i)
		search := s.SearchPlan(time.Hour)
		p, err := s.NewPlanner(window.PlannerConfig{
			Owner: owner, Start: start, Interval: 5 * time.Millisecond, LeaderTTL: 2 * time.Second,
			Plan: func(ctx context.Context, ep window.Epoch) error {
				if n := active.Add(1); n > 1 {
					t.Errorf("%d planners in a round at once", n)
				}
				defer active.Add(-1)
				if !ep.Start.Equal(start) {
					t.Errorf("epoch %+v; want start %v", ep, start)
				}
				mu.Lock()
				rounds = append(rounds, owner)
				mu.Unlock()
				time.Sleep(time.Millisecond)
				return search(ctx, ep)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancels[owner] = cancel
		wg.Go(func() {
			if err := p.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	defer wg.Wait()
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()

	waitRounds := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			got := append([]string(nil), rounds...)
			mu.Unlock()
			if len(got) >= n {
				return got
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("fewer than %d planning rounds in 10s", n)
		return nil
	}
	first := waitRounds(20)
	for _, o := range first {
		if o != first[0] {
			t.Fatalf("rounds by %v; want one leader", first)
		}
	}
	// The planner made epoch 1 and its windows up to the tail.
	s := e.replica()
	if c, err := s.EpochCounts(t.Context(), 1); err != nil || c.Pending != 6 {
		t.Fatalf("windows planned = %+v, %v; want 6 pending", c, err)
	}

	cancels[first[0]]()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := waitRounds(len(first) + 1)
		if last := got[len(got)-1]; last != first[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no other planner took over after the leader stopped")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNewPlannerRejects(t *testing.T) {
	t.Parallel()
	s := newEnv(t).replica()
	plan := s.SearchPlan(time.Hour)
	good := window.PlannerConfig{Owner: "a", Start: t0, Interval: time.Second, LeaderTTL: time.Second, Plan: plan}
	tests := []struct {
		name   string
		adjust func(*window.PlannerConfig)
	}{
		{"no start", func(c *window.PlannerConfig) { c.Start = time.Time{} }},
		{"no interval", func(c *window.PlannerConfig) { c.Interval = 0 }},
		{"no plan", func(c *window.PlannerConfig) { c.Plan = nil }},
		{"no owner", func(c *window.PlannerConfig) { c.Owner = "" }},
		{"no leader ttl", func(c *window.PlannerConfig) { c.LeaderTTL = 0 }},
	}
	if _, err := s.NewPlanner(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tt := range tests {
		cfg := good
		tt.adjust(&cfg)
		_, err := s.NewPlanner(cfg)
		wantErr(t, tt.name, err, window.ErrInvalid)
	}
}
