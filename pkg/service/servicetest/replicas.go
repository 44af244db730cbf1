package servicetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/replicas"
)

// Member waits until reg (the register the admin API reads) lists exactly one replica of
// want.Service, as it does while s beats, and that replica's status, decoded into a fresh T
// (the service's adminapi member type), satisfies ready; it returns that status. It fails the
// test (t.Fatalf) when the listing fails; when the replica listed has another ID or Version
// than want, or no start time; when its status does not decode; after timeout, naming the
// status it saw last; or when s's run returns first.
func Member[T any](t testing.TB, s *Service, reg *replicas.Registry, want replicas.Replica, timeout time.Duration,
	ready func(T) bool) T {
	t.Helper()
	var member T
	what := fmt.Sprintf("a beat of %s %s that is ready", want.Service, want.ID)
	s.poll(t, timeout, what, func() (bool, string) {
		reps, err := reg.List(t.Context(), want.Service)
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) != 1 {
			return false, fmt.Sprintf("%d replicas listed", len(reps))
		}
		rep := reps[0]
		if rep.ID != want.ID || rep.Version != want.Version || rep.Started.IsZero() {
			t.Fatalf("listed %+v; want id %s, version %s and a start time", rep, want.ID, want.Version)
		}
		var m T
		if err := json.Unmarshal(rep.Status, &m); err != nil {
			t.Fatalf("status %s: %v", rep.Status, err)
		}
		member = m
		return ready(m), fmt.Sprintf("last status %+v", m)
	})
	return member
}
