package shipper_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
)

// TestShipsEveryEvent runs 1, 2 and 4 replicas on one consumer: every event reaches Fluentd
// at least once, and duplicates are rare. The 4-replica case ships 100,000 events; the race
// detector makes the embedded NATS server, the fake Fluentd and the engine several times
// slower (100,000 events take minutes on two cores), so under it every case ships a fifth.
func TestShipsEveryEvent(t *testing.T) {
	t.Parallel()
	scale := 1
	if raceEnabled {
		scale = 5
	}
	for _, tt := range []struct {
		replicas, events int
	}{
		{replicas: 1, events: 20_000 / scale},
		{replicas: 2, events: 20_000 / scale},
		{replicas: 4, events: 100_000 / scale},
	} {
		t.Run(fmt.Sprintf("replicas=%d", tt.replicas), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			peer := fluentdtest.New(t)
			events := auditEvents(0, tt.events)
			began := time.Now()
			e.publish(t, events)
			published := time.Since(began)

			began = time.Now()
			for range tt.replicas {
				start(t, e, testConfig(), shipper.Target{Sink: fluentdSink(t, peer.Config()), Batch: 100})
			}
			eventually(t, 90*time.Second, "every event delivered", func() bool { return peer.Accepted() >= tt.events })
			shipped := time.Since(began)
			dups := checkEvery(t, events, uids(t, peer.Received()))
			t.Logf("%d events: published in %v, shipped by %d replicas in %v (%.0f events/s), %d duplicates",
				tt.events, published.Round(time.Millisecond), tt.replicas, shipped.Round(time.Millisecond),
				float64(tt.events)/shipped.Seconds(), dups)
			if dups > tt.events/100 {
				t.Errorf("%d duplicates of %d events: more than 1%%", dups, tt.events)
			}
			eventually(t, 10*time.Second, "consumer drained", func() bool {
				info := e.consumerInfo(t, "fluentd")
				return info.NumPending == 0 && info.NumAckPending == 0
			})
		})
	}
}
