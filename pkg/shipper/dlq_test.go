package shipper_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

// TestRejectedToDLQ: events Fluentd answers 400 land in TELEPORT_DLQ with the sink, the
// reason, the delivery count and the original headers, subject, sequence and body, and are
// terminated: never delivered again.
func TestRejectedToDLQ(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	peer := fluentdtest.New(t)
	peer.Fail(1, sinktest.Permanent)
	events := auditEvents(0, 5)
	e.publish(t, events)
	r := start(t, e, testConfig(), shipper.Target{Sink: fluentdSink(t, peer.Config()), Batch: 100})

	var letters []stream.Entry
	eventually(t, 10*time.Second, "5 dead letters", func() bool {
		letters = e.deadLetters(t, "fluentd")
		return len(letters) >= len(events)
	})
	byUID := map[string]stream.Entry{}
	for _, l := range letters {
		byUID[l.Header.Get(event.HeaderUID)] = l
	}
	for _, ev := range events {
		l, ok := byUID[ev.UID]
		switch {
		case !ok:
			t.Errorf("event %s not dead-lettered", ev.UID)
			continue
		case l.Sink != "fluentd" || !strings.Contains(l.Reason, "400") || l.Attempts != 1:
			t.Errorf("dead letter of %s: sink %q, reason %q, attempts %d; want fluentd, a 400, 1", ev.UID, l.Sink, l.Reason, l.Attempts)
		case l.OriginalSubject != ev.Subject() || l.OriginalSeq == 0:
			t.Errorf("dead letter of %s: subject %q seq %d; want %q and a sequence", ev.UID, l.OriginalSubject, l.OriginalSeq, ev.Subject())
		case l.Header.Get(jetstream.MsgIDHeader) != ev.MsgID("") || l.Header.Get(event.HeaderType) != ev.Type:
			t.Errorf("dead letter of %s: headers %v; want the original ones", ev.UID, l.Header)
		case !bytes.Equal(l.Body, ev.Body):
			t.Errorf("dead letter of %s: body differs from the original", ev.UID)
		}
	}
	eventually(t, 5*time.Second, "terminated", func() bool {
		info := e.consumerInfo(t, "fluentd")
		return info.NumAckPending == 0 && info.NumPending == 0
	})
	time.Sleep(300 * time.Millisecond) // a redelivery, if any, would reach the peer now
	if n := peer.Accepted(); n != 0 {
		t.Errorf("Fluentd accepted %d rejected events later; want none", n)
	}
	// The metric counts a dead letter just after its term: poll, then check it exactly.
	rejected := func() float64 {
		return r.metric(t, "auditpipe_shipper_dead_letters_total", "sink", "fluentd", "reason", "rejected")
	}
	eventually(t, 10*time.Second, "every dead letter counted", func() bool { return rejected() >= float64(len(events)) })
	if got := rejected(); got != float64(len(events)) {
		t.Errorf("dead_letters_total{reason=rejected} = %v; want %d", got, len(events))
	}
}

// TestUndecodableToDLQ: a message without the event headers, and one whose large body is
// gone from the object store, are dead-lettered without reaching the sink; the good event
// beside them is delivered.
func TestUndecodableToDLQ(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	peer := fluentdtest.New(t)
	e.publishRaw(t, "teleport.audit.user.login", nats.Header{"X": []string{"no kind"}}, []byte(`{"event":"user.login"}`))
	lost := sinktest.AuditEvent(1)
	h := lost.Header(event.Replay{})
	h.Set(stream.HeaderObject, stream.DefaultBucket+"/gone")
	h.Set(stream.HeaderObjectSize, "2000000")
	e.publishRaw(t, lost.Subject(), h, []byte(`{"auditpipe_object":"gone"}`))
	good := sinktest.AuditEvent(2)
	e.publish(t, []event.Event{good})
	r := start(t, e, testConfig(), shipper.Target{Sink: fluentdSink(t, peer.Config()), Batch: 100})

	var letters []stream.Entry
	eventually(t, 10*time.Second, "2 dead letters", func() bool {
		letters = e.deadLetters(t, "fluentd")
		return len(letters) >= 2
	})
	for _, l := range letters {
		if !strings.Contains(l.Reason, "headers") && !strings.Contains(l.Reason, "missing") {
			t.Errorf("dead letter reason %q; want a missing header or object", l.Reason)
		}
	}
	eventually(t, 10*time.Second, "the good event delivered", func() bool { return peer.Accepted() == 1 })
	undecodable := func() float64 {
		return r.metric(t, "auditpipe_shipper_dead_letters_total", "sink", "fluentd", "reason", "undecodable")
	}
	eventually(t, 10*time.Second, "both dead letters counted", func() bool { return undecodable() >= 2 })
	if got := undecodable(); got != 2 {
		t.Errorf("dead_letters_total{reason=undecodable} = %v; want 2", got)
	}
}

// TestExhaustedToDLQ: events Fluentd never accepts (503 every time) are dead-lettered on their
// max-deliver'th delivery.
func TestExhaustedToDLQ(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	peer := fluentdtest.New(t)
	peer.Fail(1_000_000, sinktest.Transient)
	events := auditEvents(0, 10)
	e.publish(t, events)
	cfg := testConfig()
	cfg.MaxDeliver = 3
	start(t, e, cfg, shipper.Target{Sink: fluentdSink(t, peer.Config()), Batch: 100})

	var letters []stream.Entry
	eventually(t, 20*time.Second, "10 dead letters", func() bool {
		letters = e.deadLetters(t, "fluentd")
		return len(letters) >= len(events)
	})
	for _, l := range letters {
		if l.Attempts != 3 || !strings.Contains(l.Reason, "still failing after 3 deliveries") || !strings.Contains(l.Reason, "503") {
			t.Errorf("dead letter: attempts %d, reason %q; want 3 and the last 503", l.Attempts, l.Reason)
		}
	}
	eventually(t, 5*time.Second, "terminated", func() bool { return e.consumerInfo(t, "fluentd").NumAckPending == 0 })
}
