package datadog_test

import (
	"testing"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/datadog"
	"github.com/auditpipe/auditpipe/pkg/sink/datadog/datadogtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

// BenchmarkDatadogDeliver delivers batches of 500 events of 1 KiB to the fake intake over
// loopback HTTP, gzip on: the sink's encoding and compression plus the intake's decoding, in
// one process. It reports events/s.
func BenchmarkDatadogDeliver(b *testing.B) {
	const batchSize, eventBytes = 500, 1024
	intake := datadogtest.New(b, datadogtest.DiscardItems(), datadogtest.RequireGzip())
	s, err := datadog.New(intake.Config(b), datadog.WithLogger(discard()))
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]event.Event, batchSize)
	for i := range batch {
		batch[i] = sinktest.Pad(sinktest.AuditEvent(i), eventBytes)
	}
	b.SetBytes(batchSize * eventBytes)
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range s.Deliver(b.Context(), batch) {
			if r.Outcome != sink.Delivered {
				b.Fatalf("%s: %s", r.Outcome, r.Reason)
			}
		}
	}
	b.ReportMetric(float64(b.N*batchSize)/b.Elapsed().Seconds(), "events/s")
	if got := intake.Accepted(); got < b.N*batchSize {
		b.Errorf("intake accepted %d events, want at least %d", got, b.N*batchSize)
	}
}
