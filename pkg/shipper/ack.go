package shipper

import (
	"cmp"
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/event"
)

const (
	// ackTimeout bounds one synchronous ack.
	ackTimeout = 10 * time.Second
	// ackParallel bounds the acks of one batch in flight at once.
	ackParallel = 32
)

// item is one message of a batch and what the shipper made of it.
type item struct {
	msg      jetstream.Msg
	seq      uint64 // stream sequence; 0 when the metadata is unreadable
	attempts int    // deliveries so far, this one included
	ev       event.Event
	settled  atomic.Bool // acked, naked or terminated: no InProgress any more
}

// newItems wraps msgs. A message whose metadata cannot be read (never seen from JetStream)
// counts as on its first delivery.
func newItems(msgs []jetstream.Msg) []*item {
	items := make([]*item, len(msgs))
	for i, m := range msgs {
		it := &item{msg: m, attempts: 1}
		if meta, err := m.Metadata(); err == nil {
			it.seq, it.attempts = meta.Sequence.Stream, int(meta.NumDelivered)
		}
		items[i] = it
	}
	return items
}

// eventType is the item's event type for metric labels: from the event, else the header.
func (it *item) eventType() string {
	if it.ev.Type != "" {
		return it.ev.Type
	}
	if t := it.msg.Headers().Get(event.HeaderType); t != "" {
		return t
	}
	return "unknown"
}

// ack acknowledges items, synchronously and several at once. Acks JetStream does not
// confirm are counted and logged: those events will be delivered again (duplicates).
func (w *worker) ack(items []*item) {
	var (
		wg     sync.WaitGroup
		sem    = make(chan struct{}, ackParallel)
		failed atomic.Int64
		first  atomic.Value
	)
	for _, it := range items {
		it.settled.Store(true)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			// A fresh context: an ack of a delivered event is worth sending even while the
			// batch's work context ends.
			ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
			defer cancel()
			if err := it.msg.DoubleAck(ctx); err != nil {
				failed.Add(1)
				first.CompareAndSwap(nil, err.Error())
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		w.mAckErrors.Add(float64(n))
		w.log.Warn("acks not confirmed; those events will be delivered again", "events", n, "of", len(items), "err", first.Load())
	}
}

// nak hands the item back for a delivery after delay (at once when delay is 0). An error
// means the nak was not sent: the event comes back after the ack wait instead.
func (w *worker) nak(it *item, delay time.Duration) error {
	it.settled.Store(true)
	var err error
	if delay > 0 {
		err = it.msg.NakWithDelay(delay)
	} else {
		err = it.msg.Nak()
	}
	if err != nil {
		w.mAckErrors.Inc()
	}
	return err
}

// term tells JetStream never to deliver the item again: it is in the DLQ. An error means the
// term was not sent: the event comes back and is dead-lettered again, which the DLQ
// deduplicates.
func (w *worker) term(it *item) error {
	it.settled.Store(true)
	err := it.msg.Term()
	if err != nil {
		w.mAckErrors.Inc()
	}
	return err
}

// nakUnsettled hands back every item not settled yet, for a delivery at once (elsewhere).
func (w *worker) nakUnsettled(items []*item) {
	var failed int
	var first error
	for _, it := range items {
		if it.settled.Load() {
			continue
		}
		if err := w.nak(it, 0); err != nil {
			failed++
			first = cmp.Or(first, err)
		}
	}
	if failed > 0 {
		w.log.Warn("naks not sent; those events come back after the ack wait", "events", failed, "err", first)
	}
}

// keepInProgress sends InProgress for the unsettled items every half AckWait until ctx ends,
// so that JetStream does not deliver them again while the batch is in hand.
func (w *worker) keepInProgress(ctx context.Context, items []*item) {
	t := time.NewTicker(w.e.cfg.AckWait / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, it := range items {
			if !it.settled.Load() {
				// An error means the message was settled meanwhile or the connection is
				// down; either way there is nothing better to do than try again.
				_ = it.msg.InProgress()
			}
		}
	}
}

// retryDelay is the nak delay after the attempts'th delivery failed: RetryInitial doubled
// per earlier delivery, at most RetryMax, then jittered down by up to a half so that events
// that failed together do not come back together.
func (w *worker) retryDelay(attempts int) time.Duration {
	d := w.e.cfg.RetryInitial
	for i := 1; i < attempts && d < w.e.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, w.e.cfg.RetryMax)
	return d/2 + rand.N(d/2+1)
}
