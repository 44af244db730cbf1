package lock

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gravitational/teleport/api/types"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
)

// TestLockAfterMoreThanFailedAttempts: as teleport-event-handler, the failed login that makes
// more than lock-failed-attempts-count within lock-period locks the user and login, once; the
// lock reads back through the simulator and the client's GetLocks.
func TestLockAfterMoreThanFailedAttempts(t *testing.T) {
	e := newEnv(t, nil)
	var logs bytes.Buffer
	r := e.newReplica(t, e.config(), WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	ctx := context.Background()

	for i := range 3 {
		deliver(t, r, login(t, fmt.Sprintf("f%d", i), "alice", "root", base.Add(time.Duration(i)*time.Second), false))
	}
	if n := len(e.sim.Locks()); n != 0 {
		t.Fatalf("%d locks after 3 failed logins, want none until the 4th", n)
	}
	deliver(t, r, login(t, "f3", "alice", "root", base.Add(3*time.Second), false))

	want := target{user: "alice", login: "root"}
	locks := e.sim.Locks()
	if len(locks) != 1 {
		t.Fatalf("%d locks after the 4th failed login, want 1", len(locks))
	}
	got := locks[0]
	if got.GetName() != lockName(want) || !got.Target().Equals(types.LockTarget{User: "alice", Login: "root"}) ||
		got.Message() != Message || got.LockExpiry() != nil {
		t.Errorf("lock %s on %v, message %q, expiry %v; want %s on alice/root, %q, no expiry",
			got.GetName(), got.Target(), got.Message(), got.LockExpiry(), lockName(want), Message)
	}
	inForce, err := r.teleport.GetLocks(ctx, true, types.LockTarget{User: "alice"})
	if err != nil || len(inForce) != 1 || inForce[0].GetName() != lockName(want) {
		t.Fatalf("GetLocks(in force, alice) = %v, %v; want the one lock", inForce, err)
	}

	// More failures within the period neither lock again nor change the lock.
	for i := 4; i < 8; i++ {
		deliver(t, r, login(t, fmt.Sprintf("f%d", i), "alice", "root", base.Add(time.Duration(i)*time.Second), false))
	}
	if calls := r.locker.calls.Load(); calls != 1 {
		t.Errorf("%d UpsertLock calls, want 1", calls)
	}
	if got := metric(t, r.reg, "auditpipe_lock_failed_logins_total", "result", "counted"); got != 8 {
		t.Errorf("failed_logins_total{counted} = %v, want 8", got)
	}
	if got := metric(t, r.reg, "auditpipe_lock_locks_issued_total"); got != 1 {
		t.Errorf("locks_issued_total = %v, want 1", got)
	}
	var record struct {
		Msg          string `json:"msg"`
		User         string `json:"user"`
		Login        string `json:"login"`
		FailedLogins int    `json:"failed_logins"`
	}
	if err := json.Unmarshal(logs.Bytes(), &record); err != nil || !strings.Contains(record.Msg, "Locked") ||
		record.User != "alice" || record.Login != "root" || record.FailedLogins != 4 {
		t.Errorf("log %q (%v); want one record of the lock of alice/root after 4 failed logins", logs.String(), err)
	}
}

// TestLockForSetsExpiry: lock-for sets the lock's expiry from the time it is issued.
func TestLockForSetsExpiry(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.config()
	cfg.LockFor = 10 * time.Minute
	r := e.newReplica(t, cfg)
	var batch []event.Event
	for i := range 4 {
		batch = append(batch, login(t, fmt.Sprintf("f%d", i), "bob", "", base, false))
	}
	before := time.Now()
	deliver(t, r, batch...)
	after := time.Now()

	locks := e.sim.Locks()
	if len(locks) != 1 {
		t.Fatalf("%d locks, want 1", len(locks))
	}
	exp := locks[0].LockExpiry()
	if exp == nil || exp.Before(before.Add(cfg.LockFor).Truncate(time.Second)) || exp.After(after.Add(cfg.LockFor)) {
		t.Fatalf("expiry %v, want between %v and %v", exp, before.Add(cfg.LockFor), after.Add(cfg.LockFor))
	}
	if !locks[0].Target().Equals(types.LockTarget{User: "bob"}) {
		t.Fatalf("target %v, want the user alone: the failed login named no OS login", locks[0].Target())
	}
	if !locks[0].IsInForce(time.Now()) || locks[0].IsInForce(after.Add(cfg.LockFor+time.Second)) {
		t.Fatal("the lock is not in force now, or still in force after lock-for")
	}
}

// TestLockTwoReplicasOneLockPerTarget: two replicas deliver interleaved batches at once, every
// event twice (a redelivery, by either replica): each target gets exactly one UpsertLock, and
// nothing is counted twice.
func TestLockTwoReplicasOneLockPerTarget(t *testing.T) {
	const (
		targets   = 12
		failures  = 10
		successes = 3
	)
	e := newEnv(t, nil)
	a, b := e.newReplica(t, e.config()), e.newReplica(t, e.config())
	fastRecheck(a, b)

	var events []event.Event
	for n := range targets {
		user := fmt.Sprintf("user-%d", n)
		for i := range failures {
			events = append(events, login(t, fmt.Sprintf("%s-f%d", user, i), user, "root", base.Add(time.Duration(i)*time.Second), false))
		}
		for i := range successes {
			events = append(events, login(t, fmt.Sprintf("%s-s%d", user, i), user, "root", base, true))
		}
	}
	all := append(append([]event.Event{}, events...), events...) // every event twice
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })

	batches := make(chan []event.Event)
	go func() {
		defer close(batches)
		for len(all) > 0 {
			n := min(1+rng.IntN(4), len(all))
			batches <- all[:n]
			all = all[n:]
		}
	}()
	var (
		wg      sync.WaitGroup
		retries atomic.Int64
	)
	for _, r := range []*replica{a, b} {
		wg.Go(func() {
			for batch := range batches {
				retries.Add(int64(deliverAsShipper(t, r, batch)))
			}
		})
	}
	wg.Wait()

	locks := e.locksOf()
	if len(locks) != targets {
		t.Fatalf("%d locks, want %d", len(locks), targets)
	}
	for n := range targets {
		tg := target{user: fmt.Sprintf("user-%d", n), login: "root"}
		if _, ok := locks[lockName(tg)]; !ok {
			t.Errorf("no lock for %v", tg)
		}
	}
	if calls := a.locker.calls.Load() + b.locker.calls.Load(); calls != targets {
		t.Errorf("%d UpsertLock calls across both replicas, want exactly %d", calls, targets)
	}
	inForce, err := b.teleport.GetLocks(context.Background(), true)
	if err != nil || len(inForce) != targets {
		t.Errorf("GetLocks(in force) = %d locks, %v; want %d", len(inForce), err, targets)
	}
	counted := metric(t, a.reg, "auditpipe_lock_failed_logins_total", "result", "counted") +
		metric(t, b.reg, "auditpipe_lock_failed_logins_total", "result", "counted")
	dups := metric(t, a.reg, "auditpipe_lock_failed_logins_total", "result", "duplicate") +
		metric(t, b.reg, "auditpipe_lock_failed_logins_total", "result", "duplicate")
	// A copy that met its own claim in flight came back Retry and was looked at again: each
	// such retry is one more duplicate (only failed logins can come back Retry here).
	if wantDups := float64(targets*failures + retries.Load()); counted != targets*failures || dups != wantDups {
		t.Errorf("counted %v and duplicate %v failed logins, want %d counted and %v duplicates (%d retries)",
			counted, dups, targets*failures, wantDups, retries.Load())
	}
}

// TestLockWindowSlides: failed logins spread over more than lock-period do not lock, in
// whatever order they arrive; one more that brings more than lock-failed-attempts-count
// within a period does.
func TestLockWindowSlides(t *testing.T) {
	e := newEnv(t, nil)
	r := e.newReplica(t, e.config()) // 3 within a minute, locks at 4

	// Every 20 s: any minute holds 3 of them (a span of 60 s is not within the minute).
	var spread []event.Event
	for i := range 10 {
		spread = append(spread, login(t, fmt.Sprintf("f%d", i), "carol", "", base.Add(time.Duration(i)*20*time.Second), false))
	}
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(spread), func(i, j int) { spread[i], spread[j] = spread[j], spread[i] })
	for _, ev := range spread {
		deliver(t, r, ev)
	}
	if n := len(e.sim.Locks()); n != 0 {
		t.Fatalf("%d locks for failed logins 20 s apart, want none", n)
	}
	// One at 50 s: 40 s, 50 s, 60 s and 80 s are within 40 s of each other.
	deliver(t, r, login(t, "f-late", "carol", "", base.Add(50*time.Second), false))
	if n := len(e.sim.Locks()); n != 1 {
		t.Fatalf("%d locks after 4 failed logins within 40 s, want 1", n)
	}
}

// TestLockCountsOnlyFailedLoginsOfOneTarget: successes, other event types, failed logins of
// other users or logins, and user.login events without "success" or "user" do not count.
func TestLockCountsOnlyFailedLoginsOfOneTarget(t *testing.T) {
	e := newEnv(t, nil)
	r := e.newReplica(t, e.config())
	var batch []event.Event
	for i := range 3 {
		batch = append(batch, login(t, fmt.Sprintf("dave-%d", i), "dave", "root", base, false))
	}
	for i := range 10 {
		batch = append(batch, login(t, fmt.Sprintf("ok-%d", i), "dave", "root", base, true))
	}
	for i := range 3 {
		batch = append(batch,
			login(t, fmt.Sprintf("other-login-%d", i), "dave", "admin", base, false),
			login(t, fmt.Sprintf("other-user-%d", i), "erin", "root", base, false),
			parse(t, map[string]any{"event": "user.login", "uid": fmt.Sprintf("no-success-%d", i), "time": base, "user": "dave", "login": "root"}),
			parse(t, map[string]any{"event": "user.login", "uid": fmt.Sprintf("no-user-%d", i), "time": base, "login": "root", "success": false}),
			parse(t, map[string]any{"event": "session.start", "uid": fmt.Sprintf("session-%d", i), "time": base, "user": "dave", "login": "root", "success": false}),
		)
	}
	deliver(t, r, batch...)
	if n := len(e.sim.Locks()); n != 0 {
		t.Fatalf("%d locks, want none: no target has more than 3 failed logins", n)
	}
	deliver(t, r, login(t, "dave-3", "dave", "root", base, false))
	locks := e.sim.Locks()
	if len(locks) != 1 || locks[0].GetName() != lockName(target{user: "dave", login: "root"}) {
		t.Fatalf("locks %v, want dave/root's alone", locks)
	}
}

// TestLockRetriesWhenTeleportIsUnavailable: an UpsertLock that fails with Unavailable makes
// the event that claimed the lock Retry (the others of the batch are counted and Delivered);
// delivering it again locks.
func TestLockRetriesWhenTeleportIsUnavailable(t *testing.T) {
	e := newEnv(t, nil)
	r := e.newReplica(t, e.config())
	var batch []event.Event
	for i := range 4 {
		batch = append(batch, login(t, fmt.Sprintf("f%d", i), "frank", "root", base, false))
	}
	if err := e.sim.SetFaults(teleportsim.Faults{UnavailableNext: 1}); err != nil {
		t.Fatal(err)
	}
	results := r.Deliver(context.Background(), batch)
	for i, res := range results[:3] {
		if res.Outcome != sink.Delivered {
			t.Errorf("event %d: %s: %s, want delivered (counted, no lock to issue)", i, res.Outcome, res.Reason)
		}
	}
	if res := results[3]; res.Outcome != sink.Retry || res.Blocked || res.Reason == "" {
		t.Fatalf("the event that claimed the lock: %s (blocked %t): %q, want retry, not blocked", res.Outcome, res.Blocked, res.Reason)
	}
	if n := len(e.sim.Locks()); n != 0 {
		t.Fatalf("%d locks after a failed UpsertLock", n)
	}
	if got := metric(t, r.reg, "auditpipe_lock_errors_total", "op", "teleport"); got != 1 {
		t.Errorf("errors_total{teleport} = %v, want 1", got)
	}

	deliver(t, r, batch[3])
	if n := len(e.sim.Locks()); n != 1 {
		t.Fatalf("%d locks after the retry, want 1", n)
	}
	if calls, ok := r.locker.calls.Load(), r.locker.ok.Load(); calls != 2 || ok != 1 {
		t.Errorf("UpsertLock calls %d (%d accepted), want 2 (1)", calls, ok)
	}
}

// TestLockRetriesWhenTeleportHangs: an UpsertLock that outlasts the Deliver ctx is Retry, and
// its claim is withdrawn so that the retry locks at once.
func TestLockRetriesWhenTeleportHangs(t *testing.T) {
	e := newEnv(t, nil)
	r := e.newReplica(t, e.config())
	var batch []event.Event
	for i := range 4 {
		batch = append(batch, login(t, fmt.Sprintf("f%d", i), "grace", "", base, false))
	}
	if err := e.sim.SetFaults(teleportsim.Faults{Latency: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	results := r.Deliver(ctx, batch)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Deliver took %v with a 300ms ctx", took)
	}
	if res := results[3]; res.Outcome != sink.Retry || res.Blocked {
		t.Fatalf("claimer: %s (blocked %t): %s, want retry", res.Outcome, res.Blocked, res.Reason)
	}
	if err := e.sim.SetFaults(teleportsim.Faults{}); err != nil {
		t.Fatal(err)
	}
	deliver(t, r, batch[3])
	if n := len(e.sim.Locks()); n != 1 {
		t.Fatalf("%d locks after the retry, want 1", n)
	}
}

// TestLockClaimOutlivesACrash: a replica that claimed a lock and died before UpsertLock (its
// failed logins counted, its claim pending, no lock) does not stop the lock. Other failed
// logins of the target leave the claim alone; the claiming event's redelivery waits for the
// claim to expire (Retry with RetryAfter), then claims and locks; without a redelivery the
// target's next failed login locks once the claim has expired.
func TestLockClaimOutlivesACrash(t *testing.T) {
	ctx := context.Background()
	const ttl = 300 * time.Millisecond
	// crash counts four failed logins of user, the 4th claiming the lock, and returns their
	// events; the replica dies before UpsertLock.
	crash := func(t *testing.T, e *env, user string) []event.Event {
		crashed := e.newReplica(t, e.config())
		crashed.store.pendingTTL = ttl
		var batch []event.Event
		var logins []failedLogin
		for i := range 4 {
			ev := login(t, fmt.Sprintf("f%d", i), user, "root", base, false)
			l, _, _ := readFailedLogin(ev, time.Now())
			batch, logins = append(batch, ev), append(logins, l)
		}
		v, err := crashed.store.count(ctx, logins)
		if err != nil || v[3].claim != claimed {
			t.Fatalf("count = %+v, %v; want the 4th to claim", v, err)
		}
		return batch
	}

	t.Run("redelivery", func(t *testing.T) {
		e := newEnv(t, nil)
		batch := crash(t, e, "heidi")
		other := e.newReplica(t, e.config())
		deliver(t, other, login(t, "f4", "heidi", "root", base, false))
		if n := len(e.sim.Locks()); n != 0 || other.locker.calls.Load() != 0 {
			t.Fatalf("%d locks, %d calls while a claim is pending; want none", n, other.locker.calls.Load())
		}

		// JetStream redelivers the dead replica's unacked batch.
		results := other.Deliver(ctx, batch)
		for i, r := range results[:3] {
			if r.Outcome != sink.Delivered {
				t.Fatalf("event %d: %s: %s, want delivered", i, r.Outcome, r.Reason)
			}
		}
		r := results[3]
		if r.Outcome != sink.Retry || r.Blocked || r.RetryAfter <= 0 || r.RetryAfter > pendingTTL/10 {
			t.Fatalf("the claiming event's redelivery: %s (blocked %t, after %v): %s; want retry within %v",
				r.Outcome, r.Blocked, r.RetryAfter, r.Reason, pendingTTL/10)
		}
		deliverAsShipper(t, other, batch[3:]) // retried until the claim has expired
		if n := len(e.sim.Locks()); n != 1 || other.locker.calls.Load() != 1 {
			t.Fatalf("%d locks, %d calls after the retry; want 1 and 1", n, other.locker.calls.Load())
		}
	})
	t.Run("next failed login", func(t *testing.T) {
		e := newEnv(t, nil)
		crash(t, e, "ivan")
		time.Sleep(ttl + 100*time.Millisecond)
		r := e.newReplica(t, e.config())
		deliver(t, r, login(t, "f4", "ivan", "root", base, false))
		if n := len(e.sim.Locks()); n != 1 {
			t.Fatalf("%d locks once the claim expired, want 1", n)
		}
	})
}

// TestLockDuplicateOfTheClaimerWaits: a copy of the event that is claiming a lock, delivered
// while its UpsertLock is in flight, does not call UpsertLock a second time: it is Retry, and
// Delivered once the claim is settled.
func TestLockDuplicateOfTheClaimerWaits(t *testing.T) {
	e := newEnv(t, nil)
	a, b := e.newReplica(t, e.config()), e.newReplica(t, e.config())
	var batch []event.Event
	for i := range 4 {
		batch = append(batch, login(t, fmt.Sprintf("f%d", i), "kim", "", base, false))
	}
	if err := e.sim.SetFaults(teleportsim.Faults{Latency: 500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	done := make(chan []sink.Result)
	go func() { done <- a.Deliver(context.Background(), batch) }()
	// Wait until a's claim is in Redis, then deliver the same batch through b.
	marker := newKeys(e.redis.Prefix).marker(target{user: "kim"})
	deadline := time.Now().Add(5 * time.Second)
	for e.rdb.Get(context.Background(), marker).Val() != "pending:f3" {
		if time.Now().After(deadline) {
			t.Fatal("no claim in Redis")
		}
		time.Sleep(5 * time.Millisecond)
	}
	dup := b.Deliver(context.Background(), batch)
	if r := dup[3]; r.Outcome != sink.Retry || r.RetryAfter <= 0 {
		t.Fatalf("duplicate of the claimer during its UpsertLock: %s (after %v): %s; want retry", r.Outcome, r.RetryAfter, r.Reason)
	}
	for i, r := range <-done {
		if r.Outcome != sink.Delivered {
			t.Fatalf("event %d: %s: %s", i, r.Outcome, r.Reason)
		}
	}
	_ = e.sim.SetFaults(teleportsim.Faults{})
	deliver(t, b, batch[3])
	if calls := a.locker.calls.Load() + b.locker.calls.Load(); calls != 1 || len(e.sim.Locks()) != 1 {
		t.Fatalf("%d UpsertLock calls, %d locks; want 1 and 1", calls, len(e.sim.Locks()))
	}
}

// TestLockLateFailedLoginsDoNotCount: a failed login older than the target's newest by more
// than lock-period plus an hour is not counted; one within that reach is.
func TestLockLateFailedLoginsDoNotCount(t *testing.T) {
	e := newEnv(t, nil)
	r := e.newReplica(t, e.config())
	deliver(t, r, login(t, "new", "judy", "", base, false))
	var old []event.Event
	for i := range 4 {
		old = append(old, login(t, fmt.Sprintf("old-%d", i), "judy", "", base.Add(-2*time.Hour), false))
	}
	deliver(t, r, old...)
	if n := len(e.sim.Locks()); n != 0 {
		t.Fatalf("%d locks for failed logins 2 h older than the newest, want none", n)
	}
	if got := metric(t, r.reg, "auditpipe_lock_failed_logins_total", "result", "late"); got != 4 {
		t.Fatalf("failed_logins_total{late} = %v, want 4", got)
	}
	var recent []event.Event
	for i := range 4 {
		recent = append(recent, login(t, fmt.Sprintf("recent-%d", i), "judy", "", base.Add(-30*time.Minute), false))
	}
	deliver(t, r, recent...)
	if n := len(e.sim.Locks()); n != 1 {
		t.Fatalf("%d locks for 4 failed logins 30 min older than the newest, want 1", n)
	}
}
