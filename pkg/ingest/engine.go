package ingest

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
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/window"
)

// Deps are what an Engine works with. The Engine closes none of them.
type Deps struct {
	// Source is the Teleport audit log. Required.
	Source Source
	// Classify turns Source errors into decisions; nil means teleportsrc.Classify's (the
	// Source is a *teleportsrc.Client).
	Classify func(error) Class
	// Redis holds the shared state: a single server, Sentinel or Cluster client. Required.
	Redis redis.UniversalClient
	// JetStream is where events go. Required unless Config.DryRun. Create it with
	// jetstream.WithPublishAsyncMaxPending(n), n ≥ Config.MaxPending.
	JetStream jetstream.JetStream
	// Registerer receives the metrics (auditpipe_ingest_*); nil registers none. One Engine
	// per Registerer.
	Registerer prometheus.Registerer
	// Logger receives the engine's logs; nil discards them.
	Logger *slog.Logger
}

// Engine is one replica of ingest. New makes it, Run runs it once; Status may be called at
// any time from any goroutine.
type Engine struct {
	cfg      Config
	src      Source
	classify func(error) Class
	rdb      redis.UniversalClient
	js       jetstream.JetStream
	store    *window.Store
	log      *slog.Logger
	m        *metrics
	filter   filter

	started atomic.Bool
	running atomic.Bool // while Run runs

	modeMu    sync.Mutex // guards mode, modeEpoch
	mode      Mode
	modeEpoch int64

	paused   atomic.Bool
	newest   atomic.Int64 // unix nanoseconds of the newest audit event delivered; 0: none
	events   eventCounts
	activity activity

	sharedMu sync.Mutex // guards shared
	shared   shared
}

// New returns an Engine, or an error wrapping ErrInvalidConfig when cfg or deps cannot work.
// In dry-run the Redis key prefix becomes a scratch prefix of this owner (see Config.DryRun).
func New(cfg Config, deps Deps) (*Engine, error) {
	err := cfg.Validate()
	switch {
	case deps.Source == nil:
		err = errors.Join(err, fmt.Errorf("%w: no Source", ErrInvalidConfig))
	case deps.Redis == nil:
		err = errors.Join(err, fmt.Errorf("%w: no Redis client", ErrInvalidConfig))
	case deps.JetStream == nil && !cfg.DryRun:
		err = errors.Join(err, fmt.Errorf("%w: no JetStream (only a dry run needs none)", ErrInvalidConfig))
	}
	if err != nil {
		return nil, err
	}
	if cfg.DryRun {
		cfg.Window.KeyPrefix = scratchPrefix(cfg.Window.KeyPrefix, cfg.Owner)
	}
	store, err := window.New(deps.Redis, cfg.Window)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	e := &Engine{
		cfg:      cfg,
		src:      deps.Source,
		classify: deps.Classify,
		rdb:      deps.Redis,
		js:       deps.JetStream,
		store:    store,
		log:      deps.Logger,
		filter:   newFilter(cfg),
	}
	if e.classify == nil {
		e.classify = classifyTeleport
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.log = e.log.With("owner", cfg.Owner)
	if e.m, err = newMetrics(deps.Registerer, e.lag); err != nil {
		return nil, err
	}
	return e, nil
}

// run is the state of one Run: the engine and its lifetimes.
type run struct {
	*Engine
	// ctx lives until Run's context ends, a fatal error, or exit-on-last-event; workers take
	// no new page, window or job after it ends. Its cause says why.
	ctx  context.Context
	stop context.CancelCauseFunc
	// hard lives until DrainTimeout after ctx ended: the page in hand is published and
	// committed under it.
	hard       context.Context
	pub        publisher
	parked     parked
	exportPlan exportPlan
	// following holds a token per open window followed beside the workers (see follow).
	following chan struct{}
	// wg counts every goroutine of the run.
	wg sync.WaitGroup
}

// errExited is the cause of a run that exit-on-last-event ended.
var errExited = errors.New("ingest: every event up to the start is exported")

// fatalError is the cause of a run that a fatal error stopped.
type fatalError struct{ err error }

func (f *fatalError) Error() string { return f.err.Error() }

// Run ingests until ctx ends, a fatal error occurs (a Fatal or NotImplemented Teleport error,
// or a mode conflict at start), or, with ExitOnLastEvent, everything up to the start is done.
// It makes the first epoch on the very first start (Config.Start), publishes to the stream it
// creates or updates (stream.Ensure), and runs the planner, workers and status poller (see
// doc.go). On the way out it finishes the pages in hand within DrainTimeout, releases its
// leases and returns: nil after ctx ended or exit-on-last-event, else the fatal error. Errors
// at start (Redis or NATS unreachable) are returned at once. Run may be called once.
func (e *Engine) Run(ctx context.Context) error {
	if !e.started.CompareAndSwap(false, true) {
		return errors.New("ingest: Run called twice")
	}
	e.running.Store(true)
	defer e.running.Store(false)
	if e.cfg.DryRun {
		defer e.dropScratch()
	}
	started := time.Now()
	start := e.cfg.Start
	if start.IsZero() {
		start = e.cfg.now()
	}
	epoch, err := e.store.InitEpoch(ctx, start)
	if err != nil {
		return fmt.Errorf("ingest: start: %w", err)
	}
	e.setShared(shared{Epoch: epoch})
	if _, err := e.modeFor(ctx, epoch); err != nil {
		return fmt.Errorf("ingest: start: %w", err)
	}
	pub, err := e.newPublisher(ctx)
	if err != nil {
		return fmt.Errorf("ingest: start: %w", err)
	}
	runCtx, stop := context.WithCancelCause(ctx)
	hard, kill := context.WithCancel(context.WithoutCancel(ctx))
	defer kill()
	context.AfterFunc(runCtx, func() { time.AfterFunc(e.cfg.DrainTimeout, kill) })
	r := &run{Engine: e, ctx: runCtx, stop: stop, hard: hard, pub: pub, following: make(chan struct{}, e.cfg.Concurrency)}
	e.log.Info("ingest starting", "epoch", epoch.Number, "epoch_start", epoch.Start, "mode", e.currentMode(),
		"dry_run", e.cfg.DryRun, "exit_on_last_event", e.cfg.ExitOnLastEvent, "search_window", e.cfg.searchSpan())

	if err := r.launch(epoch, start); err != nil {
		stop(err)
		return err
	}
	r.wg.Wait()
	r.parked.releaseAll(r)

	cause := context.Cause(runCtx)
	stop(nil)
	var fatal *fatalError
	if errors.As(cause, &fatal) {
		e.log.Error("ingest stopped", "err", fatal.err, "ran", time.Since(started))
		return fatal.err
	}
	e.log.Info("ingest stopped", "reason", cause, "ran", time.Since(started), "events_read", e.events.read.Load(),
		"events_published", e.events.published.Load())
	return nil
}

// launch starts the run's goroutines: the planner (or, for exit-on-last-event, one planning
// round first), the status poller and the workers. An error means none was started.
func (r *run) launch(epoch window.Epoch, start time.Time) error {
	if r.cfg.ExitOnLastEvent {
		if err := r.planOnce(epoch); err != nil {
			return err
		}
	} else {
		planner, err := r.store.NewPlanner(window.PlannerConfig{Owner: r.cfg.Owner, Start: start,
			Interval: r.cfg.Timeout, LeaderTTL: r.cfg.LeaderTTL, Plan: r.plan, Logger: r.log})
		if err != nil {
			return fmt.Errorf("ingest: start: %w", err)
		}
		r.wg.Go(func() { _ = planner.Run(r.ctx) }) // it returns nil, once ctx ends
	}
	r.wg.Go(r.poll)
	for n := range r.cfg.Concurrency {
		r.wg.Go(func() { r.windowWorker(n) })
	}
	for n := range r.cfg.SessionConcurrency {
		r.wg.Go(func() { r.sessionWorker(n) })
	}
	return nil
}

// fail stops the run with a fatal error: Run returns it.
func (r *run) fail(err error) {
	r.stop(&fatalError{err: err})
}

// between is checked at each page boundary: errStopping once the run stops, errPaused while
// ingest is paused; the worker then releases what it holds.
func (r *run) between() error {
	if r.ctx.Err() != nil {
		return errStopping
	}
	if r.paused.Load() {
		return errPaused
	}
	return nil
}

var (
	errStopping = errors.New("ingest: stopping")
	errPaused   = errors.New("ingest: paused")
)

// releasing reports whether a worker that ended its read with err should release its lease
// for another replica: the run is stopping or ingest is paused.
func (r *run) releasing(err error) bool {
	return r.ctx.Err() != nil || errors.Is(err, errStopping) || errors.Is(err, errPaused)
}
