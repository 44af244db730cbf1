package sinktest

import (
	"context"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
)

// DeliverEventually delivers batch through s, then delivers again the events that came back
// Retry, as the shipper would, until every event is Delivered or attempts deliveries were made.
// It does not wait between attempts (the suite's peers fail on request, not by time).
//
// It fails t when a Deliver returns the wrong number of Results, when an event is Rejected or
// Blocked (neither clears by trying again), and when events are still Retry after the last
// attempt. It returns the number of deliveries made.
func DeliverEventually(ctx context.Context, t testing.TB, s sink.Sink, batch []event.Event, attempts int) int {
	t.Helper()
	pending := batch
	for attempt := 1; attempt <= attempts; attempt++ {
		results := s.Deliver(ctx, pending)
		if len(results) != len(pending) {
			t.Errorf("attempt %d: Deliver returned %d results for %d events", attempt, len(results), len(pending))
			return attempt
		}
		var again []event.Event
		for i, r := range results {
			switch {
			case r.Outcome == sink.Delivered:
			case r.Outcome == sink.Retry && !r.Blocked:
				again = append(again, pending[i])
			default:
				t.Errorf("attempt %d: event %s: %s (blocked %t): %s", attempt, pending[i].ID(), r.Outcome, r.Blocked, r.Reason)
				return attempt
			}
		}
		if len(again) == 0 {
			return attempt
		}
		pending = again
	}
	t.Errorf("%d of %d events still not delivered after %d attempts", len(pending), len(batch), attempts)
	return attempts
}
