package fluentd_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

// A 413 splits the request in halves down to single events: every event that fits is
// delivered once and in order, and one that alone is over the limit is Rejected.
func TestTooLargeSplitsInHalves(t *testing.T) {
	const limit = 64 << 10
	peer := fluentdtest.New(t, fluentdtest.WithBodySizeLimit(limit))
	s := newSink(t, peer)

	batch := audits(0, 40, 10<<10) // 400 KiB: several halvings
	huge := sinktest.Pad(sinktest.AuditEvent(1000), 2*limit)
	batch = slices.Insert(batch, 17, huge)

	results := s.Deliver(testContext(t), batch)
	var delivered []event.Event
	for i, r := range results {
		switch {
		case i == 17:
			if r.Outcome != sink.Rejected || !strings.Contains(r.Reason, "413") || !strings.Contains(r.Reason, "body_size_limit") {
				t.Errorf("oversized event: %s %q, want rejected for 413 and body_size_limit", r.Outcome, r.Reason)
			}
		case r.Outcome != sink.Delivered:
			t.Errorf("event %d: %s: %s", i, r.Outcome, r.Reason)
		default:
			delivered = append(delivered, batch[i])
		}
	}
	if got, want := keys(peer.Received()), eventKeys(delivered); !slices.Equal(got, want) {
		t.Errorf("peer holds %d events, want the %d that fit, once each and in order", len(got), len(want))
	}
	t.Logf("%d requests for %d events", peer.Requests(), len(batch))
}

// WithMaxRequestBytes keeps requests under a known limit, so no 413 happens at all.
func TestMaxRequestBytesAvoidsTooLarge(t *testing.T) {
	const limit = 64 << 10
	peer := fluentdtest.New(t, fluentdtest.WithBodySizeLimit(limit))
	s := newSink(t, peer, fluentd.WithMaxRequestBytes(limit/2))
	batch := audits(0, 40, 10<<10)
	wantAll(t, s.Deliver(testContext(t), batch), len(batch), sink.Delivered, false)
	if got := peer.Requests(); got != 14 { // 3 events of ~10 KiB per 32 KiB request
		t.Errorf("%d requests, want 14", got)
	}
}
