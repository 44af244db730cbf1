// Package shipper is the engine of auditpipe-shipper: it reads the events stream through one
// durable consumer per sink and forwards the events to the sinks, at least once.
//
// # Consumers and replicas
//
// Each sink this replica serves (a [Target]) has a durable pull consumer, sink-<name>
// (stream.EnsureConsumer), shared by every shipper replica that serves the sink: replicas
// split the stream between them, so adding replicas adds throughput. Run creates the streams
// and consumers if needed (stream.Ensure), so replicas may start in any order, before or
// after ingest.
//
// The consumer's MaxAckPending is [Config.MaxInFlight], across all replicas. Each replica
// keeps up to max(1, MaxInFlight / batch) batches of one sink in flight at once (at most 16),
// so that one replica alone can fill it.
//
// # Batches
//
// A batch is one pull: up to the target's Batch messages and [Config.BatchBytes] bytes, or
// fewer when [Config.Linger] passes first (so a quiet stream is still shipped promptly). The
// shipper resolves each body (stream.BodyReader: bodies over the max payload are in the
// object store), rebuilds the envelope from the headers (event.FromHeader), and hands the
// events to Sink.Deliver. Every message then settles by its own Result:
//   - Delivered: acked (synchronously, so that a lost ack shows as a metric, not only as a
//     duplicate later). Nothing is acked before the sink accepted it.
//   - Retry: naked with a delay — the sink's RetryAfter, else an exponential backoff with
//     jitter from [Config.RetryInitial] to [Config.RetryMax] by delivery count. A RetryAfter
//     also pauses this replica's pulls for the sink that long (a 429 is sink-wide). A message
//     still Retry on its [Config.MaxDeliver]th delivery is dead-lettered instead
//     ("exhausted").
//   - Rejected: dead-lettered, then terminated.
//   - Retry with Blocked (the sink refuses every event, e.g. a bad API key): the sink is
//     blocked. The batch is held, not naked — a nak would use up delivery attempts for a
//     fault no retry fixes — and delivered again with backoff up to [Config.BlockedRetryMax]
//     while InProgress keeps it from being redelivered elsewhere. No new batch of the sink is
//     pulled while it is blocked. Becoming blocked logs an ERROR with alert=true and sets
//     auditpipe_shipper_sink_blocked{sink} to 1; the first delivery the sink answers without
//     Blocked ends the block. [Engine.Ready] reports it.
//
// A message that is not an event (no kind or type header) or whose large body is gone from the
// object store is dead-lettered ("undecodable") without reaching the sink.
//
// A message of an admin replay restricted to other sinks (its event.HeaderReplaySinks does
// not name this target's sink) is acked without being delivered, before its body is read,
// and counted in auditpipe_shipper_skipped_total{reason="replay_other_sink"}: the replay is
// not for this sink, which received the event the first time. Messages without the header
// go to every sink.
//
// Dead-lettering writes the message, with its original headers, subject, sequence, the
// sink, the reason and the delivery count, to the DLQ stream (stream.DLQ.Put) and only then
// terminates it. A failed write is retried with backoff while the message stays ours
// (InProgress): nothing is dropped.
//
// While a batch is in hand, InProgress is sent for its unsettled messages every half
// [Config.AckWait], so a slow sink or a long hold does not make JetStream redeliver them.
// A replica that dies mid-batch sends nothing more: its messages are redelivered to another
// replica after AckWait.
//
// # Delivery attempts
//
// The consumer's MaxDeliver is [Config.MaxDeliver] plus 3: the shipper itself dead-letters a
// message on its MaxDeliver'th delivery, and the spare deliveries keep a message whose
// replica died during that last delivery from being dropped by JetStream. With MaxDeliver -1
// neither limits deliveries.
//
// # Stopping
//
// When Run's context ends, no more batches are pulled; the batches in hand are finished
// within [Config.DrainTimeout] (a blocked hold stops at once), and every message still
// unsettled then is naked without delay, so another replica takes it at once. Run returns
// nil.
//
// # Metrics
//
// With [Deps.Registerer], labelled by sink: auditpipe_shipper_delivered_total,
// auditpipe_shipper_retried_total and auditpipe_shipper_rejected_total (also by event type),
// auditpipe_shipper_dead_letters_total (by reason: rejected, exhausted, undecodable),
// auditpipe_shipper_skipped_total (by reason: replay_other_sink),
// auditpipe_shipper_dead_letter_errors_total, auditpipe_shipper_ack_errors_total,
// auditpipe_shipper_fetch_errors_total, auditpipe_shipper_batch_size,
// auditpipe_shipper_batch_duration_seconds, auditpipe_shipper_batches_in_flight,
// auditpipe_shipper_sink_blocked, and from the consumer's info, polled every
// [Config.InfoInterval]: auditpipe_shipper_consumer_pending, _consumer_ack_pending,
// _consumer_redelivered and _consumer_waiting.
package shipper

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

// Defaults of the Config fields that [FromConfig] does not take from the configuration.
const (
	DefaultLinger          = 200 * time.Millisecond
	DefaultBatchBytes      = 8 << 20
	DefaultDrainTimeout    = 10 * time.Second
	DefaultRetryInitial    = time.Second
	DefaultRetryMax        = 5 * time.Minute
	DefaultBlockedRetryMax = 30 * time.Second
	DefaultInfoInterval    = 15 * time.Second
)

const (
	// deliverMargin is how many deliveries the consumer allows beyond Config.MaxDeliver (see
	// the package documentation).
	deliverMargin = 3
	// maxConcurrency bounds the batches of one sink in flight per replica.
	maxConcurrency = 16
	// minAckWait is the shortest AckWait: InProgress goes out every half of it.
	minAckWait = 200 * time.Millisecond
)

// ErrInvalidConfig marks a Config or Target that New cannot use.
var ErrInvalidConfig = errors.New("shipper: invalid configuration")

// Config configures an Engine. The zero value of each field means its default.
type Config struct {
	// Stream names the events stream, the DLQ stream and their buckets, as ingest uses them
	// (the [nats] section); Run ensures they exist.
	Stream stream.Options
	// AckWait is how long a delivered message may stay unacknowledged before JetStream
	// delivers it again; stream.DefaultAckWait when 0.
	AckWait time.Duration
	// MaxDeliver is the delivery on which a message still failing is dead-lettered;
	// stream.DefaultMaxDeliver when 0, no limit when -1.
	MaxDeliver int
	// MaxInFlight is each sink's consumer's MaxAckPending: the most unacknowledged messages
	// of the sink across replicas; stream.DefaultMaxAckPending when 0.
	MaxInFlight int
	// Linger is how long a pull waits to fill a batch; DefaultLinger when 0.
	Linger time.Duration
	// BatchBytes bounds the message bytes of one batch as stored in the stream (a large
	// body counts as its small reference); DefaultBatchBytes when 0. It is raised to twice
	// the server's max payload, so any message fits in a batch.
	BatchBytes int
	// DrainTimeout bounds how long Run finishes the batches in hand after its context ends;
	// DefaultDrainTimeout when 0.
	DrainTimeout time.Duration
	// RetryInitial and RetryMax bound the nak delay of a Retry without RetryAfter: RetryInitial
	// after the first delivery, doubling per delivery up to RetryMax, with jitter;
	// DefaultRetryInitial and DefaultRetryMax when 0.
	RetryInitial time.Duration
	RetryMax     time.Duration
	// BlockedRetryMax bounds the wait between deliveries of a held batch while its sink is
	// blocked (from RetryInitial, doubling); DefaultBlockedRetryMax when 0.
	BlockedRetryMax time.Duration
	// InfoInterval is how often the consumer gauges are polled; DefaultInfoInterval when 0.
	InfoInterval time.Duration
}

// FromConfig returns the engine configuration of c: the [nats] stream settings (as every
// service maps them: stream.OptionsFromConfig) and the [shipper] section's ack-wait, max-deliver and max-in-flight; the other fields are 0, which
// means their defaults.
func FromConfig(c *config.Config) Config {
	return Config{
		Stream:      stream.OptionsFromConfig(c.NATS),
		AckWait:     c.Shipper.AckWait,
		MaxDeliver:  c.Shipper.MaxDeliver,
		MaxInFlight: c.Shipper.MaxInFlight,
	}
}

func (c Config) withDefaults() Config {
	if c.AckWait == 0 {
		c.AckWait = stream.DefaultAckWait
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = stream.DefaultMaxDeliver
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = stream.DefaultMaxAckPending
	}
	c.Linger = cmp.Or(c.Linger, DefaultLinger)
	c.BatchBytes = cmp.Or(c.BatchBytes, DefaultBatchBytes)
	c.DrainTimeout = cmp.Or(c.DrainTimeout, DefaultDrainTimeout)
	c.RetryInitial = cmp.Or(c.RetryInitial, DefaultRetryInitial)
	c.RetryMax = cmp.Or(c.RetryMax, DefaultRetryMax)
	c.BlockedRetryMax = cmp.Or(c.BlockedRetryMax, DefaultBlockedRetryMax)
	c.InfoInterval = cmp.Or(c.InfoInterval, DefaultInfoInterval)
	return c
}

// Validate reports every setting New cannot use (after defaults), each wrapping
// ErrInvalidConfig.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if err := c.Stream.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrInvalidConfig, err))
	}
	switch {
	case c.AckWait < 0:
		bad("AckWait %v is negative", c.AckWait)
	case c.AckWait < minAckWait:
		bad("AckWait %v: at least %v, so that InProgress keeps up", c.AckWait, minAckWait)
	}
	if c.MaxDeliver < -1 {
		bad("MaxDeliver %d: positive, or -1 for no limit", c.MaxDeliver)
	}
	if c.MaxInFlight < 1 {
		bad("MaxInFlight %d: at least 1", c.MaxInFlight)
	}
	if c.Linger < 0 {
		bad("Linger %v is negative", c.Linger)
	}
	if c.BatchBytes < 1 {
		bad("BatchBytes %d: at least 1", c.BatchBytes)
	}
	if c.DrainTimeout < 0 {
		bad("DrainTimeout %v is negative", c.DrainTimeout)
	}
	if c.RetryInitial < 0 || c.RetryMax < c.RetryInitial || c.BlockedRetryMax < c.RetryInitial {
		bad("RetryInitial %v, RetryMax %v, BlockedRetryMax %v: want 0 < RetryInitial <= RetryMax and BlockedRetryMax",
			c.RetryInitial, c.RetryMax, c.BlockedRetryMax)
	}
	if c.InfoInterval < 0 {
		bad("InfoInterval %v is negative", c.InfoInterval)
	}
	return errors.Join(errs...)
}

// Target is a sink this replica ships to.
type Target struct {
	// Sink delivers the events; its Name names the consumer (sink-<name>) and the metrics.
	Sink sink.Sink
	// Batch is the most events in one batch (the sink's batch setting).
	Batch int
	// Subjects the sink reads; every event (stream.EventSubjects) when empty. The lock sink,
	// say, needs only teleport.audit.user.login.
	Subjects []string
}

// JetStream is the part of jetstream.JetStream the engine uses: stream and consumer set-up,
// dead letters, large bodies and the connection (for the max payload).
type JetStream interface {
	stream.StreamAPI
	stream.ConsumerAPI
	stream.DLQAPI
}

// Deps are what an Engine works with; the caller owns them and closes them after Run returns.
type Deps struct {
	JetStream JetStream
	// Registerer receives the metrics (see the package documentation); none when nil.
	// Engines sharing a Registerer share the metrics.
	Registerer prometheus.Registerer
	// Logger receives the engine's logs; slog.Default() when nil.
	Logger *slog.Logger
}

// Engine ships the events of the stream to its targets. Its methods are safe for concurrent
// use; Run may be called once.
type Engine struct {
	cfg     Config
	js      JetStream
	log     *slog.Logger
	metrics *metrics
	workers []*worker
	started atomic.Bool
}

// New returns an Engine for cfg and targets (at least one, with distinct sink names). It
// checks the configuration and registers the metrics; Run does the rest.
func New(cfg Config, targets []Target, deps Deps) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if deps.JetStream == nil {
		return nil, fmt.Errorf("%w: no JetStream", ErrInvalidConfig)
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("%w: no sink to ship to", ErrInvalidConfig)
	}
	log := cmp.Or(deps.Logger, slog.Default())
	m, err := newMetrics(deps.Registerer)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, js: deps.JetStream, log: log, metrics: m}
	seen := map[string]bool{}
	for _, t := range targets {
		switch {
		case t.Sink == nil:
			return nil, fmt.Errorf("%w: a target without a sink", ErrInvalidConfig)
		case seen[t.Sink.Name()]:
			return nil, fmt.Errorf("%w: sink %q twice", ErrInvalidConfig, t.Sink.Name())
		case t.Batch < 1:
			return nil, fmt.Errorf("%w: sink %s: batch %d: at least 1", ErrInvalidConfig, t.Sink.Name(), t.Batch)
		}
		if _, err := stream.ConsumerConfig(t.Sink.Name(), e.consumerOptions(t)); err != nil {
			return nil, fmt.Errorf("%w: sink %s: %w", ErrInvalidConfig, t.Sink.Name(), err)
		}
		seen[t.Sink.Name()] = true
		e.workers = append(e.workers, newWorker(e, t))
	}
	return e, nil
}

// ensureConsumer creates or updates t's consumer.
func (e *Engine) ensureConsumer(ctx context.Context, t Target) (jetstreamConsumer, error) {
	return stream.EnsureConsumer(ctx, e.js, cmp.Or(e.cfg.Stream.Name, stream.DefaultName), t.Sink.Name(), e.consumerOptions(t))
}

// consumerOptions are the options of t's consumer.
func (e *Engine) consumerOptions(t Target) stream.ConsumerOptions {
	maxDeliver := e.cfg.MaxDeliver
	if maxDeliver > 0 {
		maxDeliver += deliverMargin
	}
	return stream.ConsumerOptions{
		AckWait:       e.cfg.AckWait,
		MaxDeliver:    maxDeliver,
		MaxAckPending: e.cfg.MaxInFlight,
		Subjects:      t.Subjects,
	}
}

// Run ensures the streams and the targets' consumers, then ships until ctx ends, and drains
// (see the package documentation). It returns nil after a stop by ctx (also during set-up),
// or the error that stopped it: a failed set-up, or a closed NATS connection.
func (e *Engine) Run(ctx context.Context) error {
	if !e.started.CompareAndSwap(false, true) {
		return errors.New("shipper: Run called twice")
	}
	if err := e.setUp(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while setting up
		}
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, w := range e.workers {
		g.Go(func() error { return w.run(gctx) })
		g.Go(func() error {
			w.pollConsumer(gctx)
			return nil
		})
	}
	err := g.Wait()
	for _, w := range e.workers {
		w.running.Store(false)
	}
	return err
}

// setUp ensures the streams, the DLQ and each target's consumer, and starts the workers.
func (e *Engine) setUp(ctx context.Context) error {
	if err := stream.Ensure(ctx, e.js, e.cfg.Stream); err != nil {
		return fmt.Errorf("shipper: %w", err)
	}
	dlq, err := stream.NewDLQ(ctx, e.js, e.cfg.Stream)
	if err != nil {
		return fmt.Errorf("shipper: %w", err)
	}
	bodies := stream.NewBodyReader(e.js)
	batchBytes := max(e.cfg.BatchBytes, 2*int(e.js.Conn().MaxPayload()))
	for _, w := range e.workers {
		c, err := e.ensureConsumer(ctx, w.target)
		if err != nil {
			return fmt.Errorf("shipper: %w", err)
		}
		w.start(c, dlq, bodies, batchBytes)
	}
	return nil
}

// SinkStatus is the state of one target in this replica.
type SinkStatus struct {
	Sink string
	// Running is true from the consumer's set-up until Run returns.
	Running bool
	// Blocked is true while the sink refuses every event (see the package documentation);
	// Reason is the sink's last refusal.
	Blocked      bool
	BlockedSince time.Time
	Reason       string
	// Delivered and DeadLettered count events this Engine acked and dead-lettered; Skipped
	// those it acked without delivering (a replay for other sinks).
	Delivered    uint64
	DeadLettered uint64
	Skipped      uint64
}

// Status returns the state of every target, in the order given to New.
func (e *Engine) Status() []SinkStatus {
	out := make([]SinkStatus, len(e.workers))
	for i, w := range e.workers {
		blocked, since, reason := w.gate.state()
		out[i] = SinkStatus{
			Sink:         w.name,
			Running:      w.running.Load(),
			Blocked:      blocked,
			BlockedSince: since,
			Reason:       reason,
			Delivered:    w.delivered.Load(),
			DeadLettered: w.deadLettered.Load(),
			Skipped:      w.skipped.Load(),
		}
	}
	return out
}

// Member is the status a shipper replica with sinks reports in its beats into the replicas
// register, which the admin API shows in GET /v1/status: the sinks it serves, those blocked
// now, and the events each delivered.
func Member(sinks []SinkStatus) adminapi.ShipperMember {
	m := adminapi.ShipperMember{Sinks: make([]string, 0, len(sinks)), Delivered: make(map[string]int64, len(sinks))}
	for _, s := range sinks {
		m.Sinks = append(m.Sinks, s.Sink)
		if s.Blocked {
			m.Blocked = append(m.Blocked, s.Sink)
		}
		m.Delivered[s.Sink] = int64(s.Delivered)
	}
	return m
}

// ErrNotReady marks a sink that is not shipping: not running yet or any more, or blocked.
var ErrNotReady = errors.New("not ready")

// Ready returns nil when the named sink is running and not blocked, else an error wrapping
// ErrNotReady that says why. It suits a readiness check.
func (e *Engine) Ready(sinkName string) error {
	for _, s := range e.Status() {
		if s.Sink != sinkName {
			continue
		}
		switch {
		case !s.Running:
			return fmt.Errorf("sink %s: %w: not running", sinkName, ErrNotReady)
		case s.Blocked:
			return fmt.Errorf("sink %s: %w: blocked since %s: %s", sinkName, ErrNotReady, s.BlockedSince.UTC().Format(time.RFC3339), s.Reason)
		}
		return nil
	}
	return fmt.Errorf("sink %s: %w: not served by this replica", sinkName, ErrNotReady)
}

// jetstreamConsumer is the part of jetstream.Consumer a worker uses.
type jetstreamConsumer interface {
	Fetch(batch int, opts ...jetstream.FetchOpt) (jetstream.MessageBatch, error)
	Info(ctx context.Context) (*jetstream.ConsumerInfo, error)
}
