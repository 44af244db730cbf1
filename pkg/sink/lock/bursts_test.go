package lock

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
)

// TestLockSimulatedBursts reads a simulated audit log, with its bursts of failed logins,
// through the Teleport client, and delivers it with two replicas, every batch twice (once by
// each, as after a redelivery): the locks are exactly those of the targets that had more than
// lock-failed-attempts-count failed logins within lock-period, each issued once.
func TestLockSimulatedBursts(t *testing.T) {
	from := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(6 * time.Hour)
	log, err := teleportsim.NewLog(teleportsim.Options{
		Seed: 7, Count: 2000, From: from, To: to, Unicode: true,
		Mix: map[string]int{"user.login": 8, "exec": 2},
	})
	if err != nil {
		t.Fatalf("NewLog: %v", err)
	}
	e := newEnv(t, log)
	cfg := e.config()
	a, b := e.newReplica(t, cfg), e.newReplica(t, cfg)
	fastRecheck(a, b)

	// The audit log, oldest first, as ingest reads it.
	ctx := context.Background()
	reader := e.teleport(t)
	var events []event.Event
	for cursor := ""; ; {
		page, next, err := reader.Search(ctx, from, to, nil, 500, cursor)
		if err != nil {
			t.Fatalf("Search: %v", err)
		}
		events = append(events, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(events) != log.Len() {
		t.Fatalf("read %d events, the log holds %d", len(events), log.Len())
	}

	want := expectedLocks(t, events, cfg)
	if len(want) < 3 {
		t.Fatalf("the simulated log locks only %d targets; the test needs its bursts", len(want))
	}

	// Batches of 25 in stream order; each is delivered by both replicas, which race.
	work := make(chan []event.Event)
	go func() {
		defer close(work)
		for batch := range slices.Chunk(events, 25) {
			work <- batch
			work <- batch
		}
	}()
	var wg sync.WaitGroup
	for _, r := range []*replica{a, b} {
		wg.Go(func() {
			for batch := range work {
				deliverAsShipper(t, r, batch)
			}
		})
	}
	wg.Wait()

	var got []string
	for name := range e.locksOf() {
		got = append(got, name)
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Fatalf("locks %v, want %v", got, want)
	}
	if calls := a.locker.calls.Load() + b.locker.calls.Load(); calls != int64(len(want)) {
		t.Fatalf("%d UpsertLock calls, want %d: one per locked target", calls, len(want))
	}
}

// expectedLocks returns, sorted, the lock names of the targets with more than
// cfg.FailedAttempts failed logins within less than cfg.Period of each other: the test's own
// reading of the rule, from the events alone.
func expectedLocks(t *testing.T, events []event.Event, cfg Config) []string {
	t.Helper()
	times := make(map[target][]int64)
	for _, e := range events {
		var f struct {
			Event   string `json:"event"`
			User    string `json:"user"`
			Login   string `json:"login"`
			Success *bool  `json:"success"`
		}
		if err := json.Unmarshal(e.Body, &f); err != nil {
			t.Fatal(err)
		}
		if f.Event == "user.login" && f.Success != nil && !*f.Success && f.User != "" {
			tg := target{user: f.User, login: f.Login}
			times[tg] = append(times[tg], e.Time.UnixMilli())
		}
	}
	var names []string
	for tg, ts := range times {
		slices.Sort(ts)
		for i := 0; i+cfg.FailedAttempts < len(ts); i++ {
			if ts[i+cfg.FailedAttempts]-ts[i] < cfg.Period.Milliseconds() {
				names = append(names, lockName(tg))
				break
			}
		}
	}
	sort.Strings(names)
	return names
}
