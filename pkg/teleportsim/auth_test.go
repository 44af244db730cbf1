package teleportsim

import (
	"context"
	"slices"
	"testing"
	"time"

	apitypes "github.com/gravitational/teleport/api/types"
	"github.com/gravitational/trace"
)

// TestLocksRoundTrip shows UpsertLock then GetLocks through Teleport's client, and the same
// locks through Server.Locks.
func TestLocksRoundTrip(t *testing.T) {
	s := startSim(t, ServerConfig{Log: simLog(t, 10, Options{})})
	clt := dialSim(t, s.Addr(), keyPairCreds(s))
	ctx := context.Background()

	newLock := func(name string, target apitypes.LockTarget, expires time.Time) apitypes.Lock {
		t.Helper()
		lock, err := apitypes.NewLock(name, apitypes.LockSpecV2{Target: target, Message: "too many failed logins"})
		if err != nil {
			t.Fatal(err)
		}
		if !expires.IsZero() {
			lock.SetLockExpiry(&expires)
		}
		return lock
	}
	for _, lock := range []apitypes.Lock{
		newLock("b-alice", apitypes.LockTarget{User: "alice"}, time.Time{}),
		newLock("a-bob", apitypes.LockTarget{User: "bob"}, time.Now().Add(-time.Minute)),  // expired
		newLock("b-alice", apitypes.LockTarget{User: "alice"}, time.Now().Add(time.Hour)), // replaces the first
	} {
		if err := clt.UpsertLock(ctx, lock); err != nil {
			t.Fatalf("UpsertLock %s: %v", lock.GetName(), err)
		}
	}

	names := func(locks []apitypes.Lock) []string {
		var out []string
		for _, l := range locks {
			out = append(out, l.GetName())
		}
		return out
	}
	tests := []struct {
		name        string
		inForceOnly bool
		targets     []apitypes.LockTarget
		want        []string
	}{
		{name: "all", want: []string{"a-bob", "b-alice"}},
		{name: "in force only", inForceOnly: true, want: []string{"b-alice"}},
		{name: "by target", targets: []apitypes.LockTarget{{User: "bob"}}, want: []string{"a-bob"}},
		{name: "no match", targets: []apitypes.LockTarget{{User: "carol"}}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			locks, err := clt.GetLocks(ctx, tt.inForceOnly, tt.targets...)
			if err != nil {
				t.Fatalf("GetLocks: %v", err)
			}
			if got := names(locks); !slices.Equal(got, tt.want) {
				t.Fatalf("GetLocks = %v, want %v", got, tt.want)
			}
		})
	}

	recorded := s.Locks()
	if len(recorded) != 2 || recorded[1].GetName() != "b-alice" {
		t.Fatalf("Locks = %v", recorded)
	}
	alice := recorded[1]
	if alice.Target().User != "alice" || alice.Message() != "too many failed logins" || alice.LockExpiry() == nil ||
		alice.CreatedBy() != DefaultUser || alice.CreatedAt().IsZero() {
		t.Fatalf("recorded lock %+v", alice)
	}
	// Locks hands out copies.
	alice.SetMessage("changed")
	if s.Locks()[1].Message() != "too many failed logins" {
		t.Fatal("Locks returned the stored lock, not a copy")
	}

	// apitypes.NewLock refuses it on the client; the Server checks as Teleport's does.
	noTarget := &apitypes.LockV2{Metadata: apitypes.Metadata{Name: "no-target"}}
	if err := clt.UpsertLock(ctx, noTarget); !trace.IsBadParameter(err) {
		t.Fatalf("UpsertLock without a target = %v, want BadParameter", err)
	}
}
