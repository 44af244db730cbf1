package shipper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

// deliverBatch settles every message of one pull (see the package documentation). stop is
// the worker's context: when it ends, a blocked hold gives up. work ends the drain timeout
// after stop: Deliver and dead-letter writes are cut short then. Whatever is unsettled at
// the end is naked for a delivery elsewhere.
func (w *worker) deliverBatch(stop, work context.Context, msgs []jetstream.Msg) {
	w.mInFlight.Inc()
	defer w.mInFlight.Dec()
	items := newItems(msgs)

	keepCtx, endKeep := context.WithCancel(work)
	var keeper sync.WaitGroup
	keeper.Go(func() { w.keepInProgress(keepCtx, items) })
	defer keeper.Wait()
	defer endKeep()

	w.deliver(stop, work, w.decode(work, items))
	w.nakUnsettled(items)
}

// decode resolves each item's body and rebuilds its event from the headers. It returns the
// items ready for the sink; the others are settled (acked as skipped, dead-lettered or naked)
// or, when work ends, left unsettled.
func (w *worker) decode(work context.Context, items []*item) []*item {
	ready := items[:0:0]
	var skipped []*item
	defer func() { w.skip(skipped) }()
	for _, it := range items {
		h := it.msg.Headers()
		if !event.ForSink(h, w.name) {
			skipped = append(skipped, it)
			continue
		}
		body, err := w.bodies.Resolve(work, h, it.msg.Data())
		switch {
		case errors.Is(err, stream.ErrObjectMissing) || errors.Is(err, stream.ErrBadReference):
			w.deadLetter(work, it, reasonUndecodable, "body: "+err.Error())
			continue
		case err != nil && work.Err() != nil:
			continue // the drain timeout passed: left to be naked
		case err != nil:
			if nakErr := w.retryLater(work, it, sink.Result{Outcome: sink.Retry, Reason: "body: " + err.Error()}); nakErr != nil {
				w.log.Warn("body not read and nak not sent; the event comes back after the ack wait", "seq", it.seq, "err", err, "nak_err", nakErr)
			}
			continue
		}
		ev, err := event.FromHeader(h, body)
		if err != nil {
			w.deadLetter(work, it, reasonUndecodable, "headers: "+err.Error())
			continue
		}
		it.ev = ev
		ready = append(ready, it)
	}
	return ready
}

// deliver hands items to the sink and settles each by its result. Items the sink answers
// Blocked are held and delivered again with backoff until the sink answers them otherwise,
// or stop ends (they are left unsettled).
func (w *worker) deliver(stop, work context.Context, items []*item) {
	wait := w.e.cfg.RetryInitial
	for len(items) > 0 && work.Err() == nil {
		events := make([]event.Event, len(items))
		for i, it := range items {
			events[i] = it.ev
		}
		start := time.Now()
		results := w.target.Sink.Deliver(work, events)
		w.mBatchSeconds.Observe(time.Since(start).Seconds())
		w.mBatchSize.Observe(float64(len(events)))
		if len(results) != len(events) {
			reason := fmt.Sprintf("sink %s broke its contract: %d results for %d events", w.name, len(results), len(events))
			w.log.Error(reason)
			results = sink.All(len(events), sink.Result{Outcome: sink.Retry, Reason: reason})
		}
		items = w.settle(work, items, results)
		if len(items) == 0 {
			return
		}
		if !sleep(stop, wait) {
			return
		}
		wait = min(2*wait, w.e.cfg.BlockedRetryMax)
	}
}

// settle acks, naks or dead-letters each item by its result, and returns the items held
// because the sink is blocked. It updates the sink's blocked state: blocked when any result
// is Blocked, else not blocked (the sink answered without refusing, if only with a 503: the
// pulls resume, and a new refusal blocks again).
func (w *worker) settle(work context.Context, items []*item, results []sink.Result) []*item {
	var delivered, held []*item
	var rejected, retry []int
	var refusal string
	for i, r := range results {
		it := items[i]
		switch {
		case r.Outcome == sink.Delivered:
			delivered = append(delivered, it)
			w.mDelivered.WithLabelValues(it.eventType()).Inc()
		case r.Outcome == sink.Rejected:
			rejected = append(rejected, i)
			w.mRejected.WithLabelValues(it.eventType()).Inc()
		case r.Outcome == sink.Retry && r.Blocked:
			held = append(held, it)
			w.mRetried.WithLabelValues(it.eventType()).Inc()
			refusal = r.Reason
		default: // Retry, or an outcome the sink should not give
			retry = append(retry, i)
			w.mRetried.WithLabelValues(it.eventType()).Inc()
		}
	}
	w.ack(delivered)
	w.delivered.Add(uint64(len(delivered)))
	if len(held) > 0 {
		if w.gate.block(refusal) {
			w.log.LogAttrs(work, slog.LevelError, "sink blocked: no event is delivered or acknowledged until an operator acts",
				slog.Bool("alert", true), slog.String("reason", refusal), slog.Int("held", len(held)))
		}
	} else if was, d := w.gate.unblock(); was {
		w.log.Info("sink unblocked: it answers events again", "blocked_for", d.Round(time.Second))
	}
	if work.Err() != nil {
		// The drain timeout passed: the sink's Retry says only that the delivery was cut
		// short. The items stay unsettled, to be naked without delay, and this delivery does
		// not count towards exhaustion.
		retry = nil
	}
	var nakFailed int
	for _, i := range retry {
		r := results[i]
		if r.Outcome != sink.Retry {
			r = sink.Result{Outcome: sink.Retry, Reason: fmt.Sprintf("sink %s gave outcome %v: %s", w.name, r.Outcome, r.Reason)}
		}
		if w.retryLater(work, items[i], r) != nil {
			nakFailed++
		}
	}
	if len(retry) > 0 {
		first := results[retry[0]]
		w.log.Warn("events not delivered; retrying later", "events", len(retry), "of", len(items),
			"reason", first.Reason, "retry_after", first.RetryAfter, "naks_not_sent", nakFailed)
	}
	for _, i := range rejected {
		w.deadLetter(work, items[i], reasonRejected, results[i].Reason)
	}
	return held
}

// retryLater naks the item for a later delivery: after r.RetryAfter (which also pauses the
// sink's pulls that long), else the backoff of its delivery count. On its MaxDeliver'th
// delivery it is dead-lettered instead. The error is that of a nak not sent.
func (w *worker) retryLater(work context.Context, it *item, r sink.Result) error {
	if w.e.cfg.MaxDeliver > 0 && it.attempts >= w.e.cfg.MaxDeliver {
		w.deadLetter(work, it, reasonExhausted, fmt.Sprintf("still failing after %d deliveries: %s", it.attempts, r.Reason))
		return nil
	}
	delay := r.RetryAfter
	if delay > 0 {
		w.gate.pause(delay)
	} else {
		delay = w.retryDelay(it.attempts)
	}
	return w.nak(it, delay)
}

// skip acks items that are not for this sink (a replay for other sinks) without delivering
// them. An ack JetStream does not confirm brings the message back, to be skipped again.
func (w *worker) skip(items []*item) {
	if len(items) == 0 {
		return
	}
	w.ack(items)
	w.skipped.Add(uint64(len(items)))
	w.mSkippedReplay.Add(float64(len(items)))
	w.log.Debug("replay events for other sinks acknowledged without delivery", "events", len(items),
		"replay", items[0].msg.Headers().Get(event.HeaderReplayID))
}
