package sinktest

import (
	"strings"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
)

// checkResults checks what holds for the Results of every Deliver: one per event, a known
// outcome, a Reason on every Retry and Rejected, no secret in any Reason, and no Delivered
// event that the peer does not hold. It reports whether
// there is one Result per event. It may run on any goroutine: it never calls t.Fatal.
func checkResults(t testing.TB, peer Peer, batch []event.Event, results []sink.Result) bool {
	t.Helper()
	if len(results) != len(batch) {
		t.Errorf("Deliver returned %d results for %d events", len(results), len(batch))
		return false
	}
	held := counts(peer)
	secrets := peer.Secrets()
	for i, r := range results {
		id := batch[i].ID()
		switch r.Outcome {
		case sink.Delivered:
			if held[Key(batch[i].Body)] == 0 {
				t.Errorf("event %d (%s): delivered, but the peer does not hold it", i, id)
			}
		case sink.Retry, sink.Rejected:
			if strings.TrimSpace(r.Reason) == "" {
				t.Errorf("event %d (%s): %s without a reason", i, id, r.Outcome)
			}
		default:
			t.Errorf("event %d (%s): unknown outcome %d", i, id, r.Outcome)
		}
		for _, secret := range secrets {
			if secret != "" && strings.Contains(r.Reason, secret) {
				t.Errorf("event %d (%s): the reason holds a secret", i, id)
			}
		}
	}
	return true
}

// checkExactlyOnce checks that the peer holds every event of batch once, and nothing else.
func checkExactlyOnce(t testing.TB, peer Peer, batch []event.Event) {
	t.Helper()
	held := counts(peer)
	want := make(map[string]string, len(batch))
	for _, e := range batch {
		want[Key(e.Body)] = e.ID()
	}
	for _, e := range batch {
		if n := held[Key(e.Body)]; n != 1 {
			t.Errorf("event %s: the peer holds it %d times, want once", e.ID(), n)
		}
	}
	for key, n := range held {
		if _, ok := want[key]; !ok {
			t.Errorf("the peer holds %d events that were never sent (or were changed on the way)", n)
		}
	}
}

// checkOrder checks that the peer received the audit events of batch in batch order and each
// session's events in index order.
func checkOrder(t testing.TB, peer Peer, batch []event.Event) {
	t.Helper()
	position := make(map[string]int)
	for i, body := range peer.Received() {
		position[Key(body)] = i
	}
	last := make(map[string]int) // stream (audit, or a session id) → position of its last event
	for _, e := range batch {
		stream := "audit"
		if e.Kind == event.Session {
			stream = "session " + e.SessionID
		}
		p, ok := position[Key(e.Body)]
		if !ok {
			continue
		}
		if prev, seen := last[stream]; seen && p < prev {
			t.Errorf("%s: event %s arrived before an event sent ahead of it", stream, e.ID())
		}
		last[stream] = p
	}
}

// counts returns how often the peer holds each event, by Key.
func counts(peer Peer) map[string]int {
	held := make(map[string]int)
	for _, body := range peer.Received() {
		held[Key(body)]++
	}
	return held
}
