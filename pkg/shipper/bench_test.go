package shipper_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
)

// BenchmarkShipper measures events/s through the fluentd sink for 1, 2 and 4 replicas on one
// consumer, against a Fluentd that answers at once and one that takes 20 ms per request. An op
// is one event. The stream holds the b.N events before the replicas start; events/s counts
// from the first event Fluentd accepted to the last, so the replicas' start-up is left out.
//
// Every replica keeps 10 batches of 100 in flight: max-in-flight (MaxAckPending, shared by
// all replicas) is 1000 per replica, as an operator sizes it when adding replicas. Everything
// — NATS, the fake Fluentd, every replica — runs in this one process, so on a small machine
// the CPU, not the shipper, sets the ceiling.
func BenchmarkShipper(b *testing.B) {
	for _, latency := range []time.Duration{0, 20 * time.Millisecond} {
		for _, replicas := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("latency=%v/replicas=%d", latency, replicas), func(b *testing.B) {
				e := newEnv(b)
				peer := fluentdtest.New(b, fluentdtest.WithDiscard())
				peer.SetLatency(latency)
				e.publish(b, auditEvents(0, b.N))
				cfg := testConfig()
				cfg.AckWait = 30 * time.Second
				cfg.MaxInFlight = 1000 * replicas
				fcfg := peer.Config()
				fcfg.MaxConnections = 10 // one per batch in flight
				b.ResetTimer()
				for range replicas {
					start(b, e, cfg, shipper.Target{Sink: fluentdSink(b, fcfg), Batch: 100})
				}
				var first time.Time
				for n := peer.Accepted(); n < b.N; n = peer.Accepted() {
					if n > 0 && first.IsZero() {
						first = time.Now()
					}
					time.Sleep(time.Millisecond)
				}
				b.StopTimer()
				if elapsed := time.Since(first); !first.IsZero() && elapsed > 0 {
					b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
				}
			})
		}
	}
}
