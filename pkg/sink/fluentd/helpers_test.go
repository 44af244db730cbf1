package fluentd_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

// audits returns audit events first … first+n-1, each padded to at least size bytes.
func audits(first, n, size int) []event.Event {
	batch := make([]event.Event, n)
	for i := range batch {
		batch[i] = sinktest.Pad(sinktest.AuditEvent(first+i), size)
	}
	return batch
}

// testContext bounds one test's deliveries.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// wantAll checks that every result has outcome want (and blocked, for Retry).
func wantAll(t testing.TB, results []sink.Result, n int, want sink.Outcome, blocked bool) {
	t.Helper()
	if len(results) != n {
		t.Fatalf("%d results for %d events", len(results), n)
	}
	for i, r := range results {
		if r.Outcome != want || r.Blocked != blocked {
			t.Errorf("event %d: %s (blocked %t): %s; want %s (blocked %t)", i, r.Outcome, r.Blocked, r.Reason, want, blocked)
		}
	}
}

// keys returns the sinktest keys of bodies, in order.
func keys(bodies []json.RawMessage) []string {
	out := make([]string, len(bodies))
	for i, b := range bodies {
		out[i] = sinktest.Key(b)
	}
	return out
}

// eventKeys returns the sinktest keys of events, in order.
func eventKeys(events []event.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = sinktest.Key(e.Body)
	}
	return out
}

// noSecret fails t when s holds one of secrets.
func noSecret(t testing.TB, s string, secrets []string) {
	t.Helper()
	for _, secret := range secrets {
		if strings.Contains(s, secret) {
			t.Errorf("%q holds a secret", s)
		}
	}
}
