package shipper

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Dead-letter reasons, the values of the "reason" label of auditpipe_shipper_dead_letters_total.
const (
	// reasonRejected: the sink rejected the event (Result Rejected).
	reasonRejected = "rejected"
	// reasonExhausted: the event was still Retry on its max-deliver'th delivery.
	reasonExhausted = "exhausted"
	// reasonUndecodable: the message is not an event (headers without a kind or type) or its
	// large body is gone from the object store.
	reasonUndecodable = "undecodable"
)

// Skip reasons, the values of the "reason" label of auditpipe_shipper_skipped_total.
const (
	// skipReplayOtherSink: the message is of an admin replay for other sinks only
	// (event.HeaderReplaySinks).
	skipReplayOtherSink = "replay_other_sink"
)

// metrics are the engine's Prometheus metrics (see the package documentation). Engines that
// share a Registerer share them; the "sink" label tells sinks apart.
type metrics struct {
	delivered    *prometheus.CounterVec // sink, type
	retried      *prometheus.CounterVec // sink, type
	rejected     *prometheus.CounterVec // sink, type
	deadLetters  *prometheus.CounterVec // sink, reason
	skipped      *prometheus.CounterVec // sink, reason
	dlqErrors    *prometheus.CounterVec // sink
	ackErrors    *prometheus.CounterVec // sink
	fetchErrors  *prometheus.CounterVec // sink
	batchSize    *prometheus.HistogramVec
	batchSeconds *prometheus.HistogramVec
	inFlight     *prometheus.GaugeVec
	blocked      *prometheus.GaugeVec
	pending      *prometheus.GaugeVec
	ackPending   *prometheus.GaugeVec
	redelivered  *prometheus.GaugeVec
	waiting      *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "auditpipe", "shipper"
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, labels)
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, []string{"sink"})
	}
	m := &metrics{
		delivered:   counter("delivered_total", "Events a sink accepted and the shipper acknowledged, by sink and event type.", "sink", "type"),
		retried:     counter("retried_total", "Event deliveries a sink answered with Retry (naked for a later delivery, or held while the sink is blocked), by sink and event type.", "sink", "type"),
		rejected:    counter("rejected_total", "Events a sink rejected (then dead-lettered), by sink and event type.", "sink", "type"),
		deadLetters: counter("dead_letters_total", "Events written to the dead-letter stream and terminated, by sink and reason (rejected, exhausted, undecodable).", "sink", "reason"),
		skipped:     counter("skipped_total", "Events acknowledged without delivery, by sink and reason (replay_other_sink: an admin replay for other sinks).", "sink", "reason"),
		dlqErrors:   counter("dead_letter_errors_total", "Failed writes to the dead-letter stream (each is retried; the event stays unacknowledged).", "sink"),
		ackErrors:   counter("ack_errors_total", "Acks, naks and terms JetStream did not confirm (an unconfirmed ack means a duplicate delivery later).", "sink"),
		fetchErrors: counter("fetch_errors_total", "Failed pulls from a sink's consumer.", "sink"),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "batch_size",
			Help:    "Events per batch handed to a sink.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}}, []string{"sink"}),
		batchSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "batch_duration_seconds",
			Help:    "Time a sink took to deliver one batch (one Deliver call).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, []string{"sink"}),
		inFlight:    gauge("batches_in_flight", "Batches this replica holds for a sink: fetched and not yet settled."),
		blocked:     gauge("sink_blocked", "1 while a sink refuses every event until an operator acts (e.g. a 401/403): its progress stops and its events stay unacknowledged."),
		pending:     gauge("consumer_pending", "Messages of the stream not yet delivered to the sink's consumer (polled from consumer info)."),
		ackPending:  gauge("consumer_ack_pending", "Messages delivered to the sink's consumer and not yet acknowledged, across replicas."),
		redelivered: gauge("consumer_redelivered", "Messages of the sink's consumer that were delivered more than once and are not yet acknowledged."),
		waiting:     gauge("consumer_waiting", "Pull requests waiting on the sink's consumer."),
	}
	if reg == nil {
		return m, nil
	}
	var (
		errs []error
		err  error
	)
	counters := []**prometheus.CounterVec{&m.delivered, &m.retried, &m.rejected, &m.deadLetters, &m.skipped, &m.dlqErrors, &m.ackErrors, &m.fetchErrors}
	for _, c := range counters {
		*c, err = register(reg, *c)
		errs = append(errs, err)
	}
	for _, h := range []**prometheus.HistogramVec{&m.batchSize, &m.batchSeconds} {
		*h, err = register(reg, *h)
		errs = append(errs, err)
	}
	for _, g := range []**prometheus.GaugeVec{&m.inFlight, &m.blocked, &m.pending, &m.ackPending, &m.redelivered, &m.waiting} {
		*g, err = register(reg, *g)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("shipper: metrics: %w", err)
	}
	return m, nil
}

// register registers c with reg, or returns the collector reg already holds under the same
// description (another engine's in the same process, which then shares it).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// pollConsumer sets the consumer gauges from the consumer's info every InfoInterval until ctx
// ends. Every replica polls; the values are the consumer's, the same for all.
func (w *worker) pollConsumer(ctx context.Context) {
	m, label := w.e.metrics, prometheus.Labels{"sink": w.name}
	pending, ackPending := m.pending.With(label), m.ackPending.With(label)
	redelivered, waiting := m.redelivered.With(label), m.waiting.With(label)
	t := time.NewTicker(w.e.cfg.InfoInterval)
	defer t.Stop()
	for {
		infoCtx, cancel := context.WithTimeout(ctx, w.e.cfg.InfoInterval)
		info, err := w.currentConsumer().Info(infoCtx)
		cancel()
		switch {
		case err == nil:
			pending.Set(float64(info.NumPending))
			ackPending.Set(float64(info.NumAckPending))
			redelivered.Set(float64(info.NumRedelivered))
			waiting.Set(float64(info.NumWaiting))
		case ctx.Err() == nil:
			w.log.Debug("consumer info failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
