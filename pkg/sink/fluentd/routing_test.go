package fluentd_test

import (
	"slices"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

// Session events reach session-url + ".<sid>.log", as teleport-event-handler sends them;
// audit events reach url; each keeps its order.
func TestSessionEventsGoToTheirSessionTag(t *testing.T) {
	peer := fluentdtest.New(t)
	s := newSink(t, peer)
	var batch, audit []event.Event
	sessions := map[string][]event.Event{}
	for i := range 9 {
		a := sinktest.AuditEvent(i)
		sid := []string{"4f3b2a1c-0000-4000-8000-000000000001", "4f3b2a1c-0000-4000-8000-000000000002"}[i%2]
		e := sinktest.SessionEvent(sid, int64(i))
		batch = append(batch, a, e)
		audit = append(audit, a)
		sessions[sid] = append(sessions[sid], e)
	}
	wantAll(t, s.Deliver(testContext(t), batch), len(batch), sink.Delivered, false)

	if got, want := keys(peer.Tagged(fluentdtest.AuditTag)), eventKeys(audit); !slices.Equal(got, want) {
		t.Errorf("tag %s: got %d records, want the %d audit events in order", fluentdtest.AuditTag, len(got), len(want))
	}
	for sid, events := range sessions {
		tag := fluentdtest.SessionTag + "." + sid + ".log"
		if got, want := keys(peer.Tagged(tag)), eventKeys(events); !slices.Equal(got, want) {
			t.Errorf("tag %s: got %d records, want the session's %d events in order", tag, len(got), len(want))
		}
	}
	if n := len(peer.Records()); n != len(batch) {
		t.Errorf("peer holds %d records, want %d", n, len(batch))
	}
}

// A batch larger than the configured batch size goes in several requests, in order.
func TestBatchSizeSplitsRequests(t *testing.T) {
	peer := fluentdtest.New(t)
	cfg := peer.Config()
	cfg.Batch = 3
	s, err := newSinkFor(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	batch := audits(0, 10, 0)
	wantAll(t, s.Deliver(testContext(t), batch), len(batch), sink.Delivered, false)
	if got := peer.Requests(); got != 4 {
		t.Errorf("%d requests for 10 events in batches of 3, want 4", got)
	}
	if got, want := keys(peer.Received()), eventKeys(batch); !slices.Equal(got, want) {
		t.Error("events arrived out of order")
	}
}

// Events that cannot be sent are Rejected without a request; the others are delivered.
func TestUnsendableEventsAreRejected(t *testing.T) {
	peer := fluentdtest.New(t)
	s := newSink(t, peer)
	good := sinktest.AuditEvent(1)
	batch := []event.Event{
		{Kind: event.Audit, Type: "x", Body: []byte(`[1,2]`)},
		{Kind: event.Audit, Type: "x", Body: []byte(`{"event":`)},
		{Kind: event.Session, Type: "print", Body: []byte(`{"event":"print"}`)},
		{Kind: "other", Type: "x", Body: []byte(`{"event":"x"}`)},
		good,
	}
	results := s.Deliver(testContext(t), batch)
	for i, r := range results[:4] {
		if r.Outcome != sink.Rejected || r.Reason == "" {
			t.Errorf("event %d: %s %q, want rejected with a reason", i, r.Outcome, r.Reason)
		}
	}
	if r := results[4]; r.Outcome != sink.Delivered {
		t.Errorf("good event: %s: %s", r.Outcome, r.Reason)
	}
	if got := peer.Requests(); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
}
