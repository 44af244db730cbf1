package teleportsrc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	apitypes "github.com/gravitational/teleport/api/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// newTestLock returns a lock named name on target, expiring at expires (zero: never).
func newTestLock(t testing.TB, name string, target apitypes.LockTarget, expires time.Time) apitypes.Lock {
	t.Helper()
	spec := apitypes.LockSpecV2{Target: target, Message: "locked by a test"}
	if !expires.IsZero() {
		spec.Expires = &expires
	}
	lock, err := apitypes.NewLock(name, spec)
	if err != nil {
		t.Fatalf("NewLock: %v", err)
	}
	return lock
}

// TestUpsertLockAndGetLocks writes locks through the real client and reads them back from the
// simulator and through GetLocks, with its filters.
func TestUpsertLockAndGetLocks(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{})})
	c := newClient(t, identityConfig(s, false))
	ctx := context.Background()

	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	alice := apitypes.LockTarget{User: "alice", Login: "root"}
	bob := apitypes.LockTarget{User: "bob"}
	for _, lock := range []apitypes.Lock{
		newTestLock(t, "lock-alice", alice, expires),
		newTestLock(t, "lock-bob", bob, time.Time{}),
		newTestLock(t, "lock-expired", apitypes.LockTarget{User: "carol"}, time.Now().Add(-time.Minute)),
	} {
		if err := c.UpsertLock(ctx, lock); err != nil {
			t.Fatalf("UpsertLock(%s): %v", lock.GetName(), err)
		}
	}
	// Upserting again replaces, it does not add.
	if err := c.UpsertLock(ctx, newTestLock(t, "lock-alice", alice, expires)); err != nil {
		t.Fatalf("UpsertLock again: %v", err)
	}

	recorded := s.Locks()
	if len(recorded) != 3 {
		t.Fatalf("simulator holds %d locks, want 3", len(recorded))
	}
	got := recorded[0]
	if got.GetName() != "lock-alice" || !got.Target().Equals(alice) || got.Message() != "locked by a test" ||
		got.LockExpiry() == nil || !got.LockExpiry().Equal(expires) {
		t.Errorf("simulator holds %v (target %v, message %q, expiry %v); want lock-alice on %v until %v",
			got.GetName(), got.Target(), got.Message(), got.LockExpiry(), alice, expires)
	}
	if got.CreatedBy() != teleportsim.DefaultUser {
		t.Errorf("CreatedBy = %q, want the client identity %q", got.CreatedBy(), teleportsim.DefaultUser)
	}

	tests := []struct {
		name        string
		inForceOnly bool
		targets     []apitypes.LockTarget
		want        []string
	}{
		{name: "all", want: []string{"lock-alice", "lock-bob", "lock-expired"}},
		{name: "in force", inForceOnly: true, want: []string{"lock-alice", "lock-bob"}},
		{name: "by user", targets: []apitypes.LockTarget{{User: "alice"}}, want: []string{"lock-alice"}},
		{name: "by user and login", targets: []apitypes.LockTarget{{User: "alice", Login: "root"}}, want: []string{"lock-alice"}},
		{name: "by any of two targets", targets: []apitypes.LockTarget{{User: "bob"}, {User: "carol"}}, want: []string{"lock-bob", "lock-expired"}},
		{name: "no match", targets: []apitypes.LockTarget{{User: "mallory"}}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			locks, err := c.GetLocks(ctx, tt.inForceOnly, tt.targets...)
			if err != nil {
				t.Fatalf("GetLocks: %v", err)
			}
			var names []string
			for _, l := range locks {
				names = append(names, l.GetName())
			}
			if len(names) != len(tt.want) {
				t.Fatalf("GetLocks = %v, want %v", names, tt.want)
			}
			for i := range names {
				if names[i] != tt.want[i] {
					t.Fatalf("GetLocks = %v, want %v", names, tt.want)
				}
			}
		})
	}
}

// TestUpsertLockFailures: UpsertLock makes one call and returns its failure, classified and
// counted, so that its caller decides when to retry.
func TestUpsertLockFailures(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{})})
	reg := prometheus.NewRegistry()
	c := newClient(t, identityConfig(s, false), teleportsrc.WithRegisterer(reg))
	ctx := context.Background()
	lock := newTestLock(t, "lock-alice", apitypes.LockTarget{User: "alice"}, time.Time{})

	if err := s.SetFaults(teleportsim.Faults{UnavailableNext: 2}); err != nil {
		t.Fatal(err)
	}
	err := c.UpsertLock(ctx, lock)
	if got := teleportsrc.Classify(err); got != teleportsrc.Retry {
		t.Fatalf("UpsertLock against Unavailable = %v, classified %v; want Retry", err, got)
	}
	if left := s.Faults().UnavailableNext; left != 1 {
		t.Fatalf("UpsertLock made %d calls, want exactly 1 (no retry inside the client)", 2-left)
	}
	if got := metric(t, reg, "auditpipe_teleport_errors_total", "method", "upsert_lock", "code", "Unavailable"); got != 1 {
		t.Fatalf("errors_total{upsert_lock,Unavailable} = %v, want 1", got)
	}
	if n := len(s.Locks()); n != 0 {
		t.Fatalf("simulator holds %d locks after failed calls", n)
	}
	_ = s.SetFaults(teleportsim.Faults{})
	if err := c.UpsertLock(ctx, lock); err != nil {
		t.Fatalf("UpsertLock once the fault is gone: %v", err)
	}
	if n := len(s.Locks()); n != 1 {
		t.Fatalf("simulator holds %d locks, want 1", n)
	}

	// Teleport refuses a lock without a target: not something to retry.
	noTarget := &apitypes.LockV2{Metadata: apitypes.Metadata{Name: "no-target"}}
	err = c.UpsertLock(ctx, noTarget)
	if got := teleportsrc.Classify(err); got != teleportsrc.BadCursor {
		t.Fatalf("UpsertLock without a target = %v, classified %v; want BadCursor (InvalidArgument)", err, got)
	}

	// GetLocks retries transient failures like every read.
	if err := s.SetFaults(teleportsim.Faults{UnavailableNext: 1}); err != nil {
		t.Fatal(err)
	}
	locks, err := c.GetLocks(ctx, false)
	if err != nil || len(locks) != 1 {
		t.Fatalf("GetLocks through one Unavailable = %d locks, %v; want 1, nil", len(locks), err)
	}
}

// TestUpsertLockRejectsOtherTypes: Teleport's client only sends a *types.LockV2.
func TestUpsertLockRejectsOtherTypes(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{})})
	c := newClient(t, identityConfig(s, false))
	err := c.UpsertLock(context.Background(), otherLock{})
	if !errors.Is(err, teleportsrc.ErrInvalidArgument) {
		t.Fatalf("UpsertLock(%T) = %v, want ErrInvalidArgument", otherLock{}, err)
	}
}

// otherLock is a types.Lock that is not a *types.LockV2.
type otherLock struct{ apitypes.Lock }
