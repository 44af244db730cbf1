package shipper_test

import (
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

// TestLargeEvent: an event over the server's 1 MB max payload travels through the object
// store and reaches Fluentd whole, beside small events.
func TestLargeEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	peer := fluentdtest.New(t)
	large := sinktest.Pad(sinktest.AuditEvent(0), 1_500_000)
	events := append([]event.Event{large}, auditEvents(1, 20)...)
	e.publish(t, events)
	start(t, e, testConfig(), shipper.Target{Sink: fluentdSink(t, peer.Config()), Batch: 100})
	eventually(t, 20*time.Second, "every event delivered", func() bool { return peer.Accepted() >= len(events) })
	checkEvery(t, events, uids(t, peer.Received()))
	want := sinktest.Key(large.Body)
	for _, body := range peer.Received() {
		if sinktest.Key(body) == want {
			return
		}
	}
	t.Errorf("no record of Fluentd is the %d-byte event, whole", len(large.Body))
}
