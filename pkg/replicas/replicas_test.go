package replicas

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/testenv"
)

func newRegistry(t *testing.T) (*Registry, *time.Time) {
	t.Helper()
	srv := testenv.Redis(t)
	r := New(srv.Client(t), srv.Prefix)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	return r, &now
}

func TestBeatListExpireLeave(t *testing.T) {
	ctx := context.Background()
	r, now := newRegistry(t)
	for _, id := range []string{"b", "a"} {
		if err := r.Beat(ctx, Replica{Service: ServiceIngest, ID: id, Status: json.RawMessage(`{"lag":1}`)}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Beat(ctx, Replica{Service: ServiceShipper, ID: "s1"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := r.List(ctx, ServiceIngest)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" || string(got[0].Status) != `{"lag":1}` {
		t.Fatalf("List = %+v, want a and b with their status", got)
	}
	if !got[0].Expires.Equal(now.Add(10 * time.Second)) {
		t.Errorf("Expires = %v, want %v", got[0].Expires, now.Add(10*time.Second))
	}

	*now = now.Add(5 * time.Second)
	if err := r.Beat(ctx, Replica{Service: ServiceIngest, ID: "a"}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(6 * time.Second) // b expired, a beat 6 s ago
	if got, _ = r.List(ctx, ServiceIngest); len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("after b's expiry List = %+v, want only a", got)
	}
	if n := r.rdb.HLen(ctx, r.key(ServiceIngest)).Val(); n != 1 {
		t.Errorf("the expired entry was not deleted: %d fields", n)
	}
	if err := r.Leave(ctx, ServiceIngest, "a"); err != nil {
		t.Fatal(err)
	}
	if got, _ = r.List(ctx, ServiceIngest); len(got) != 0 {
		t.Fatalf("after Leave List = %+v, want none", got)
	}
	if got, _ = r.List(ctx, ServiceShipper); len(got) != 1 {
		t.Fatalf("the shipper's register changed: %+v", got)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t)
	for _, rep := range []Replica{{Service: "", ID: "a"}, {Service: "ingest", ID: ""}, {Service: "ingest", ID: "a{b}"}} {
		if err := r.Beat(ctx, rep, time.Second); err == nil {
			t.Errorf("Beat(%+v) accepted an invalid name", rep)
		}
	}
	if err := r.Beat(ctx, Replica{Service: "ingest", ID: "a"}, 0); err == nil {
		t.Error("Beat accepted a zero ttl")
	}
	// A field that is not JSON is skipped and removed.
	r.rdb.HSet(ctx, r.key("ingest"), "junk", "not json")
	if got, err := r.List(ctx, "ingest"); err != nil || len(got) != 0 {
		t.Fatalf("List = %+v, %v; want nothing", got, err)
	}
}

func TestRunBeatsThenLeaves(t *testing.T) {
	srv := testenv.Redis(t)
	r := New(srv.Client(t), srv.Prefix)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	calls := make(chan struct{}, 100)
	go func() {
		done <- r.Run(ctx, Replica{Service: ServiceShipper, ID: "s1", Version: "v1"}, 20*time.Millisecond,
			func() any { calls <- struct{}{}; return map[string]int{"n": len(calls)} }, func(err error) { t.Error(err) })
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(calls) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got, err := r.List(context.Background(), ServiceShipper)
	if err != nil || len(got) != 1 || got[0].Version != "v1" || len(got[0].Status) == 0 || got[0].Started.IsZero() {
		t.Fatalf("while running List = %+v, %v; want s1 with a status", got, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ := r.List(context.Background(), ServiceShipper); len(got) != 0 {
		t.Fatalf("after Run returned List = %+v, want none", got)
	}
}
