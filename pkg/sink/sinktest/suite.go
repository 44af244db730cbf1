package sinktest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
)

const (
	// hangTimeout is how long the Hang case lets Deliver wait for an answer.
	hangTimeout = 500 * time.Millisecond
	// deliverTimeout bounds every other Deliver of the suite: a sink that has not answered by
	// then is stuck.
	deliverTimeout = 30 * time.Second
	// failAll is a failure count larger than the requests any case makes.
	failAll = 1000
)

// Run runs the behaviour suite against the sinks f makes: one subtest per behaviour, each with
// a fresh sink and peer. See the package documentation for what it proves.
func Run(t *testing.T, f Factory) {
	t.Helper()
	t.Run("Name", func(t *testing.T) { testName(t, f) })
	t.Run("EmptyBatch", func(t *testing.T) { testEmptyBatch(t, f) })
	t.Run("DeliversIntact", func(t *testing.T) { testDeliversIntact(t, f) })
	for _, kind := range []FailureKind{Transient, Reset, Hang, Permanent, Unauthorized} {
		t.Run("Failure/"+kind.String(), func(t *testing.T) { testFailure(t, f, kind) })
	}
	for _, kind := range []FailureKind{Transient, Reset} {
		t.Run("OneRequestFails/"+kind.String(), func(t *testing.T) { testOneRequestFails(t, f, kind) })
	}
	t.Run("CancelledContext", func(t *testing.T) { testCancelledContext(t, f) })
	t.Run("ConcurrentDeliver", func(t *testing.T) { testConcurrentDeliver(t, f) })
}

func testName(t *testing.T, f Factory) {
	s, _ := f(t)
	if s.Name() == "" {
		t.Error("Name() is empty")
	}
}

func testEmptyBatch(t *testing.T, f Factory) {
	s, peer := f(t)
	ctx := deliverContext(t)
	for _, batch := range [][]event.Event{nil, {}} {
		if results := s.Deliver(ctx, batch); len(results) != 0 {
			t.Errorf("Deliver(%#v) = %d results, want none", batch, len(results))
		}
	}
	if got := peer.Received(); len(got) != 0 {
		t.Errorf("peer received %d events from empty batches", len(got))
	}
}

func testDeliversIntact(t *testing.T, f Factory) {
	s, peer := f(t)
	batch := mixedBatch("intact", 100<<10)
	results := s.Deliver(deliverContext(t), batch)
	if !checkResults(t, peer, batch, results) {
		return
	}
	for i, r := range results {
		if r.Outcome != sink.Delivered {
			t.Errorf("event %d (%s): %s: %s, want delivered", i, batch[i].ID(), r.Outcome, r.Reason)
		}
	}
	checkExactlyOnce(t, peer, batch)
	checkOrder(t, peer, batch)
}

// testFailure makes every request fail with kind, checks each event's outcome and that the
// peer holds none of them, then lets the peer recover and checks that retrying loses nothing.
func testFailure(t *testing.T, f Factory, kind FailureKind) {
	s, peer := f(t)
	batch := mixedBatch("failure-"+kind.String(), 0)
	peer.Fail(failAll, kind)

	ctx := deliverContext(t)
	if kind == Hang {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, hangTimeout)
		defer cancel()
	}
	start := time.Now()
	results := s.Deliver(ctx, batch)
	if kind == Hang {
		if took := time.Since(start); took > hangTimeout+5*time.Second {
			t.Errorf("Deliver returned %v after its ctx ended", took-hangTimeout)
		}
	}
	if !checkResults(t, peer, batch, results) {
		return
	}
	for i, r := range results {
		if !expected(kind, r) {
			t.Errorf("event %d (%s): %s (blocked %t): %q, want %s", i, batch[i].ID(), r.Outcome, r.Blocked, r.Reason, want(kind))
		}
	}
	if got := peer.Received(); len(got) != 0 {
		t.Errorf("peer accepted %d events while failing every request", len(got))
	}

	peer.Fail(0, kind)
	if kind == Permanent || kind == Unauthorized {
		return
	}
	DeliverEventually(deliverContext(t), t, s, batch, 3)
	checkExactlyOnce(t, peer, batch)
}

func expected(kind FailureKind, r sink.Result) bool {
	switch kind {
	case Permanent:
		return r.Outcome == sink.Rejected
	case Unauthorized:
		return r.Outcome == sink.Retry && r.Blocked
	}
	return r.Outcome == sink.Retry && !r.Blocked
}

func want(kind FailureKind) string {
	switch kind {
	case Permanent:
		return "rejected"
	case Unauthorized:
		return "retry, blocked"
	}
	return "retry, not blocked"
}

// testOneRequestFails fails only the first request a batch makes. A sink that sends the batch
// in one request reports every event Retry; one that splits it reports Delivered exactly for
// the events the peer holds. Retrying then completes the batch, each event once.
func testOneRequestFails(t *testing.T, f Factory, kind FailureKind) {
	s, peer := f(t)
	batch := mixedBatch("one-fails-"+kind.String(), 0)
	peer.Fail(1, kind)
	results := s.Deliver(deliverContext(t), batch)
	if !checkResults(t, peer, batch, results) {
		return
	}

	held := counts(peer)
	for i, r := range results {
		got := held[Key(batch[i].Body)] > 0
		switch {
		case r.Outcome == sink.Delivered && !got:
			t.Errorf("event %d (%s): delivered, but the peer does not hold it", i, batch[i].ID())
		case r.Outcome == sink.Retry && got:
			t.Errorf("event %d (%s): retry, but the peer accepted it", i, batch[i].ID())
		case r.Outcome != sink.Delivered && r.Outcome != sink.Retry, r.Blocked:
			t.Errorf("event %d (%s): %s (blocked %t): %s, want delivered or retry", i, batch[i].ID(), r.Outcome, r.Blocked, r.Reason)
		}
	}

	var again []event.Event
	for i, r := range results {
		if r.Outcome == sink.Retry {
			again = append(again, batch[i])
		}
	}
	if len(again) > 0 {
		DeliverEventually(deliverContext(t), t, s, again, 3)
	}
	checkExactlyOnce(t, peer, batch)
}

func testCancelledContext(t *testing.T, f Factory) {
	s, peer := f(t)
	batch := mixedBatch("cancelled", 0)
	ctx, cancel := context.WithCancel(deliverContext(t))
	cancel()
	results := s.Deliver(ctx, batch)
	if !checkResults(t, peer, batch, results) {
		return
	}
	for i, r := range results {
		if r.Outcome != sink.Retry || r.Blocked {
			t.Errorf("event %d (%s): %s (blocked %t) with a cancelled ctx, want retry", i, batch[i].ID(), r.Outcome, r.Blocked)
		}
	}
	if got := peer.Received(); len(got) != 0 {
		t.Errorf("peer received %d events from a cancelled Deliver", len(got))
	}
}

func testConcurrentDeliver(t *testing.T, f Factory) {
	const (
		goroutines = 8
		batches    = 4
	)
	s, peer := f(t)
	ctx := deliverContext(t)
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []event.Event
	)
	for g := range goroutines {
		wg.Go(func() {
			for b := range batches {
				batch := mixedBatch(fmt.Sprintf("concurrent-%d-%d", g, b), 0)
				mu.Lock()
				all = append(all, batch...)
				mu.Unlock()
				results := s.Deliver(ctx, batch)
				if !checkResults(t, peer, batch, results) {
					return
				}
				for i, r := range results {
					if r.Outcome != sink.Delivered {
						t.Errorf("goroutine %d batch %d event %d: %s: %s, want delivered", g, b, i, r.Outcome, r.Reason)
					}
				}
			}
		})
	}
	wg.Wait()
	checkExactlyOnce(t, peer, all)
}

// mixedBatch returns audit events and the events of three sessions, interleaved as a stream
// delivers them, all unique to name. With large > 0 it adds an audit and a session event of
// at least large bytes.
func mixedBatch(name string, large int) []event.Event {
	var batch []event.Event
	for i := range 12 {
		batch = append(batch, renamed(AuditEvent(i), name))
		sid := fmt.Sprintf("%s-session-%d", name, i%3)
		batch = append(batch, SessionEvent(sid, int64(i/3)))
	}
	if large > 0 {
		batch = append(batch,
			Pad(renamed(AuditEvent(1000), name), large),
			Pad(SessionEvent(name+"-session-0", 4), large))
	}
	return batch
}

// renamed makes an AuditEvent unique to a case by prefixing its uid.
func renamed(e event.Event, name string) event.Event {
	body := []byte(fmt.Sprintf(`{"case":%q,`, name))
	body = append(body, e.Body[1:]...)
	ev, err := event.Parse(e.Kind, body)
	if err != nil {
		return e
	}
	return ev
}

func deliverContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), deliverTimeout)
	t.Cleanup(cancel)
	return ctx
}
