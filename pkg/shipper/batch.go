package shipper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/stream"
)

// worker ships one target: it pulls batches from the target's consumer and delivers each in
// a goroutine of its own, at most concurrency at once.
type worker struct {
	e           *Engine
	target      Target
	name        string
	concurrency int
	log         *slog.Logger
	gate        *gate

	// Set by start, before run; consumer is replaced when it was deleted.
	mu         sync.Mutex
	consumer   jetstreamConsumer
	dlq        *stream.DLQ
	bodies     *stream.BodyReader
	batchBytes int
	// consumerGone is set while the consumer was deleted and creating it again has not
	// succeeded yet. Only the goroutine of run (fetch) touches it.
	consumerGone bool

	running      atomic.Bool
	delivered    atomic.Uint64
	deadLettered atomic.Uint64
	skipped      atomic.Uint64

	// The engine's metrics, curried with sink=name.
	mDelivered, mRetried, mRejected *prometheus.CounterVec // type
	mDeadLetters                    *prometheus.CounterVec // reason
	mSkippedReplay                  prometheus.Counter     // reason=replay_other_sink
	mDLQErrors, mAckErrors          prometheus.Counter
	mFetchErrors                    prometheus.Counter
	mBatchSize, mBatchSeconds       prometheus.Observer
	mInFlight                       prometheus.Gauge
}

func newWorker(e *Engine, t Target) *worker {
	name := t.Sink.Name()
	m := e.metrics
	label := prometheus.Labels{"sink": name}
	w := &worker{
		e:              e,
		target:         t,
		name:           name,
		concurrency:    min(max(1, e.cfg.MaxInFlight/t.Batch), maxConcurrency),
		log:            e.log.With("sink", name),
		mDelivered:     m.delivered.MustCurryWith(label),
		mRetried:       m.retried.MustCurryWith(label),
		mRejected:      m.rejected.MustCurryWith(label),
		mDeadLetters:   m.deadLetters.MustCurryWith(label),
		mSkippedReplay: m.skipped.With(prometheus.Labels{"sink": name, "reason": skipReplayOtherSink}),
		mDLQErrors:     m.dlqErrors.With(label),
		mAckErrors:     m.ackErrors.With(label),
		mFetchErrors:   m.fetchErrors.With(label),
		mBatchSize:     m.batchSize.With(label),
		mBatchSeconds:  m.batchSeconds.With(label),
		mInFlight:      m.inFlight.With(label),
	}
	blocked := m.blocked.With(label)
	blocked.Set(0)
	w.gate = newGate(blocked)
	return w
}

// start gives the worker what Run set up.
func (w *worker) start(c jetstreamConsumer, dlq *stream.DLQ, bodies *stream.BodyReader, batchBytes int) {
	w.consumer, w.dlq, w.bodies, w.batchBytes = c, dlq, bodies, batchBytes
	w.running.Store(true)
}

// currentConsumer returns the consumer handle.
func (w *worker) currentConsumer() jetstreamConsumer {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.consumer
}

// run pulls batches until ctx ends, then waits for the batches in hand: they finish within
// the drain timeout, after which their work context ends and what is unsettled is naked. It
// returns nil, or an error when the NATS connection is closed for good (not merely
// reconnecting): no pull can succeed again.
func (w *worker) run(parent context.Context) error {
	// ctx ends with parent or when the loop returns; work DrainTimeout later.
	ctx, stop := context.WithCancel(parent)
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopDrain := context.AfterFunc(ctx, func() {
		time.AfterFunc(w.e.cfg.DrainTimeout, cancelWork)
	})
	defer stopDrain()
	var batches sync.WaitGroup
	defer batches.Wait() // after stop, before cancelWork: the batches get their drain time
	defer stop()

	slots := make(chan struct{}, w.concurrency)
	wait := w.e.cfg.RetryInitial
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		if err := w.gate.wait(ctx); err != nil {
			return nil
		}
		msgs, err := w.fetch(ctx)
		switch {
		case err != nil && w.e.js.Conn().IsClosed():
			return fmt.Errorf("shipper: sink %s: the NATS connection is closed: %w", w.name, err)
		case err != nil:
			<-slots
			w.mFetchErrors.Inc()
			w.log.Warn("pulling from the consumer failed; retrying", "consumer", stream.ConsumerName(w.name), "err", err, "retry_in", wait)
			if !sleep(ctx, wait) {
				return nil
			}
			wait = min(2*wait, w.e.cfg.BlockedRetryMax)
			continue
		case len(msgs) == 0:
			<-slots
			continue
		}
		wait = w.e.cfg.RetryInitial
		batches.Go(func() {
			defer func() { <-slots }()
			w.deliverBatch(ctx, work, msgs)
		})
	}
	return nil
}

// fetch pulls one batch: up to the target's batch of messages and w.batchBytes bytes, or what
// came within the linger. A deleted consumer (an operator's doing) is created again, before
// any pull, until that succeeds.
func (w *worker) fetch(ctx context.Context) ([]jetstream.Msg, error) {
	if w.consumerGone {
		return nil, w.recreateConsumer(ctx)
	}
	mb, err := w.currentConsumer().Fetch(w.target.Batch, jetstream.FetchMaxWait(w.e.cfg.Linger), jetstream.FetchMaxBytes(w.batchBytes))
	if err == nil {
		var msgs []jetstream.Msg
		for m := range mb.Messages() {
			msgs = append(msgs, m)
		}
		if err = mb.Error(); err == nil || len(msgs) > 0 {
			// Messages in hand are delivered; an error after them shows on the next pull.
			return msgs, nil
		}
	}
	if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
		w.log.Warn("the consumer is gone; creating it again", "consumer", stream.ConsumerName(w.name))
		if ensureErr := w.recreateConsumer(ctx); ensureErr != nil {
			return nil, errors.Join(err, ensureErr)
		}
		return nil, nil
	}
	return nil, err
}

// recreateConsumer creates the deleted consumer again and pulls from the new one from then
// on. When that fails (the server may still be deleting the old one: "consumer does not
// exist"), the next fetch tries again first: pulls from the old handle would only find no
// responders, never the deletion again.
func (w *worker) recreateConsumer(ctx context.Context) error {
	c, err := w.e.ensureConsumer(ctx, w.target)
	if err != nil {
		w.consumerGone = true
		return err
	}
	w.mu.Lock()
	w.consumer = c
	w.mu.Unlock()
	w.consumerGone = false
	return nil
}

// sleep waits d or until ctx ends; it reports whether the whole wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
