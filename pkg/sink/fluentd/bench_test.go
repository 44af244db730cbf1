package fluentd_test

import (
	"testing"

	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
)

// BenchmarkFluentdDeliver delivers batches of 100 audit events of 1 KiB each to the fake
// Fluentd over mutual TLS, one Deliver at a time, and reports events/s.
func BenchmarkFluentdDeliver(b *testing.B) {
	peer := fluentdtest.New(b, fluentdtest.WithDiscard())
	s := newSink(b, peer)
	batch := audits(0, 100, 1<<10)
	ctx := testContext(b)
	b.SetBytes(int64(len(batch) * 1 << 10))
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range s.Deliver(ctx, batch) {
			if r.Outcome != sink.Delivered {
				b.Fatalf("%s: %s", r.Outcome, r.Reason)
			}
		}
	}
	if got, want := peer.Accepted(), b.N*len(batch); got != want {
		b.Fatalf("Fluentd accepted %d events, want %d", got, want)
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}
