package sinktest

import (
	"encoding/json"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/sink"
)

// Factory makes a fresh sink and the peer it delivers to, for one case of the suite. It
// registers its own cleanup with t.Cleanup (closing servers, removing files) and fails t with
// t.Fatal when it cannot build them.
type Factory func(t *testing.T) (sink.Sink, Peer)

// Peer is the far side of a sink under test: a server that behaves as the real destination
// documents, records what it accepted, and fails on request. A Peer is safe for concurrent
// use.
type Peer interface {
	// Received returns the body of every event the peer accepted, in arrival order: for each
	// request it answered with success, its events in the request's order. A body is the
	// event JSON as the peer would store it (the Fluentd record, the Datadog item's message).
	// It returns a copy; events of failed requests are never in it.
	Received() []json.RawMessage
	// Fail makes the next n requests fail with kind, replacing any failures still pending;
	// n <= 0 ends them. A request fails as a whole: the peer accepts none of its events.
	Fail(n int, kind FailureKind)
	// Secrets returns every secret the sink was given for this peer (an API key, the PEM of a
	// TLS private key): strings that must never appear in a Result's Reason. It may be empty.
	Secrets() []string
}

// FailureKind is how a Peer fails a request. Each kind stands for a class of real failures and
// has one expected outcome for every event of the failed request.
type FailureKind int

const (
	// Transient: the peer answers its "try again later" status (Fluentd 500 or 503, Datadog
	// 503). Expected: Retry, not Blocked.
	Transient FailureKind = iota + 1
	// Reset: the peer reads the request and closes the connection without an answer.
	// Expected: Retry, not Blocked.
	Reset
	// Hang: the peer reads the request and does not answer until the client gives up (the
	// suite's ctx ends). Expected: Retry once ctx ends, not Blocked.
	Hang
	// Permanent: the peer answers 400, as for a payload it will never accept. Expected:
	// Rejected, with a Reason.
	Permanent
	// Unauthorized: the peer answers 403, as for credentials it refuses. Expected: Retry with
	// Blocked.
	Unauthorized
)

func (k FailureKind) String() string {
	switch k {
	case Transient:
		return "transient"
	case Reset:
		return "reset"
	case Hang:
		return "hang"
	case Permanent:
		return "permanent"
	case Unauthorized:
		return "unauthorized"
	}
	return "unknown"
}
