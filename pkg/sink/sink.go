// Package sink defines what a shipper forwards events to: a Sink takes a batch and says, for
// each event, whether the sink accepted it, whether to try again later, or why it was rejected.
//
// Implementations live in sub-packages (sink/fluentd, sink/datadog, sink/lock) and all pass the
// behaviour suite in sink/sinktest.
package sink

import (
	"context"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
)

// Outcome is what became of one event of a batch.
type Outcome int

const (
	// Delivered: the sink accepted the event; the shipper acks it.
	Delivered Outcome = iota + 1
	// Retry: a transient failure (5xx, timeout, reset, 429); the shipper delivers the event
	// again later, after Result.RetryAfter when set.
	Retry
	// Rejected: the sink will never accept the event as it is (e.g. 400); the shipper sends it
	// to the dead-letter queue with Result.Reason and terminates it.
	Rejected
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	case Rejected:
		return "rejected"
	}
	return "unknown"
}

// Result is the outcome of one event.
type Result struct {
	Outcome Outcome
	// Reason says why an event was retried or rejected, for logs and the DLQ. It never holds a
	// secret (API key, TLS key).
	Reason string
	// RetryAfter, with Retry, is the earliest time to try again that the sink asked for
	// (e.g. Datadog's Retry-After); zero leaves it to the shipper's backoff.
	RetryAfter time.Duration
	// Blocked, with Retry, says the sink refuses every event until an operator acts (bad API
	// key: 401/403). The shipper stops that sink's progress and keeps the events unacked,
	// rather than burning through their delivery attempts, and raises an alert.
	Blocked bool
}

// Sink delivers batches of events to one destination.
//
// Deliver returns exactly one Result per event, in order. It must not return before the sink
// answered (so an ack follows only a real acceptance), must honour ctx (an expired ctx yields
// Retry for every event not yet accepted), and must be safe for concurrent use by several
// batches at once. Events keep their Body exactly as Teleport sent it.
type Sink interface {
	// Name is the sink's name in config, consumers and metrics: "fluentd", "datadog", "lock".
	Name() string
	Deliver(ctx context.Context, batch []event.Event) []Result
}

// All returns n copies of r: the result of a batch that failed as a whole.
func All(n int, r Result) []Result {
	out := make([]Result, n)
	for i := range out {
		out[i] = r
	}
	return out
}
