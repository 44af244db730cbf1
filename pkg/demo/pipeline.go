package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/admin"
	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/clients"
	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// Tuning of the demo's configuration (the rest is config.Default()).
const (
	// pollInterval is the demo's `timeout`: ingest plans, polls the tail and claims every
	// second, so live events show within a few seconds.
	pollInterval = time.Second
	// liveFlush is how often the simulator seals the export chunk live events go to.
	liveFlush = time.Second
	// pageSize is the demo's `batch`: events per Teleport page.
	pageSize = 200
	// windowSize is the demo's `window-size`, which replays are cut into.
	windowSize = time.Hour
	// beatInterval is how often the replicas report to the register.
	beatInterval = 2 * time.Second
	// identityTTL is how long the simulator's client identity is valid.
	identityTTL = 7 * 24 * time.Hour
	// readyTimeout bounds how long Start waits for the engines to run.
	readyTimeout = 60 * time.Second
	// Replica ids of the demo's engines (ingest.Config.Owner and the register's ids).
	ingestID = "demo-ingest"
	adminID  = "demo-admin"
)

// Pipeline is the whole auditpipe pipeline running in this process: teleport-sim, an
// embedded NATS server, Redis, one ingest engine, Options.Shippers shipper engines for the
// fluentd sink, a local Fluentd-compatible receiver and the admin API. Start makes one and
// Stop ends it. Its methods are safe for concurrent use.
type Pipeline struct {
	opts    Options
	dir     string
	started time.Time
	start   time.Time // the configured start-time
	logTo   time.Time // the end of the historical log; live events come after it
	logPath string
	logFile *os.File
	log     *slog.Logger
	// notes are remarks for the user about how the pipeline was set up (a port that was
	// taken, say), in order.
	notes []string

	redis    *redisSetup
	rdb      redis.UniversalClient
	natsSrv  *natsserver.Server
	conns    []*nats.Conn
	js       jetstream.JetStream // the demo's own handle, for the status
	jsMu     sync.Mutex          // serializes stream updates (stream.Serialized)
	dlq      *stream.DLQ
	simLog   *teleportsim.Log
	sim      *teleportsim.Server
	recv     *receiver
	tc       *teleportsrc.Client
	cfg      *config.Config
	reg      *prometheus.Registry
	registry *replicas.Registry
	ingest   *ingest.Engine
	shippers []*shipper.Engine
	admin    *admin.Server
	adminLis net.Listener // until the admin API serves on it
	adminURL string
	token    string
	tokens   string // the tokens file

	tasks struct {
		live, sim, ingest, admin *task
		shippers, beats          []*task
	}

	failOnce sync.Once
	failed   chan struct{}
	failErr  error

	stopOnce sync.Once
	stopping chan struct{}
	stopErr  error

	// final holds the streams' sizes as Stop read them once the engines had stopped.
	finalMu sync.Mutex
	final   streamSizes
}

// Start builds and starts the pipeline and returns once every engine runs: the historical
// log starts flowing at once. ctx bounds the start only; the pipeline runs until Stop, which
// the caller must call (also after a failure, see Failed). On error, what was started is
// stopped and removed again.
func Start(ctx context.Context, o Options) (*Pipeline, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Pipeline{opts: o, started: time.Now(), failed: make(chan struct{}), stopping: make(chan struct{})}
	if err := p.build(ctx); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return nil, errors.Join(err, p.Stop(stopCtx))
	}
	return p, nil
}

// build makes and starts every part, in dependency order.
func (p *Pipeline) build(ctx context.Context) error {
	o := p.opts
	var err error
	if p.dir, err = os.MkdirTemp("", "auditpipe-demo-"); err != nil {
		return fmt.Errorf("demo: temporary directory: %w", err)
	}
	if err := p.openLog(); err != nil {
		return err
	}
	p.reg = prometheus.NewRegistry()
	if err := errors.Join(
		p.reg.Register(collectors.NewGoCollector()),
		p.reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})),
	); err != nil {
		return fmt.Errorf("demo: metrics: %w", err)
	}

	// Redis and NATS.
	if p.redis, err = openRedis(ctx, o, p.dir); err != nil {
		return err
	}
	if p.natsSrv, err = startNATS(filepath.Join(p.dir, "nats")); err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	// The receiver and the simulated Teleport.
	if p.recv, err = newReceiver(filepath.Join(p.dir, "fluentd"), p.log.With("component", "fluentd-receiver")); err != nil {
		return fmt.Errorf("demo: fluentd receiver: %w", err)
	}
	go p.recv.serve()
	now := time.Now().UTC().Truncate(time.Millisecond)
	p.start, p.logTo = now.Add(-o.Since), now
	if p.simLog, err = teleportsim.NewLog(teleportsim.Options{
		Seed:      now.UnixNano(),
		Count:     o.Events,
		From:      now.Add(-o.History),
		To:        now,
		LiveFlush: liveFlush,
	}); err != nil {
		return fmt.Errorf("demo: simulated audit log: %w", err)
	}
	if p.sim, err = teleportsim.NewServer(teleportsim.ServerConfig{
		Log:            p.simLog,
		CredentialsDir: filepath.Join(p.dir, "teleport"),
		// Past teleportsrc's expiry warning (24 h): `tctl auth sign --ttl` as for a long demo.
		IdentityTTL: identityTTL,
		Logger:      p.log.With("component", "teleport-sim"),
	}); err != nil {
		return fmt.Errorf("demo: teleport-sim: %w", err)
	}
	p.tasks.sim = p.goTask("teleport-sim", p.sim.Run)
	if o.Rate > 0 {
		p.tasks.live = p.goTask("teleport-sim live events", func(ctx context.Context) error { return p.simLog.RunLive(ctx, o.Rate) })
	}

	// The configuration every engine reads, and the admin API's listener and token.
	if p.adminLis, err = p.listenAdmin(o.AdminListen); err != nil {
		return err
	}
	if err := p.writeTokens(); err != nil {
		return err
	}
	p.cfg = p.config(p.adminLis.Addr().String())
	for _, svc := range []config.Service{config.ServiceIngest, config.ServiceShipper, config.ServiceAdmin} {
		if err := p.cfg.ValidateFor(svc); err != nil {
			return fmt.Errorf("demo: the %s configuration: %w", svc, err)
		}
	}

	// Clients: Redis, one NATS connection per engine (as separate processes have), Teleport.
	if p.rdb, err = clients.Redis(p.cfg.Redis); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	p.registry = replicas.New(p.rdb, p.cfg.Redis.KeyPrefix)
	if p.js, err = p.jetStream("auditpipe-demo"); err != nil {
		return err
	}
	shipCfg := shipper.FromConfig(p.cfg)
	if err := stream.Ensure(ctx, p.js, shipCfg.Stream); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if p.dlq, err = stream.NewDLQ(ctx, p.js, shipCfg.Stream); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	connectCtx, cancel := context.WithTimeout(ctx, readyTimeout) // it retries until then
	p.tc, err = teleportsrc.New(connectCtx, p.cfg.Teleport, teleportsrc.WithLogger(p.log.With("component", "ingest")),
		teleportsrc.WithRegisterer(p.reg))
	cancel()
	if err != nil {
		return fmt.Errorf("demo: connect to teleport-sim: %w", err)
	}

	// The engines and the admin API.
	if err := p.startShippers(shipCfg); err != nil {
		return err
	}
	if err := p.startIngest(); err != nil {
		return err
	}
	if err := p.startAdmin(); err != nil {
		return err
	}
	return p.waitReady(ctx)
}

// openLog opens the engines' log file.
func (p *Pipeline) openLog() error {
	p.logPath = p.opts.LogFile
	if p.logPath == "" {
		p.logPath = filepath.Join(p.dir, "engines.log")
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("demo: log file: %w", err)
	}
	p.logFile = f
	p.log = slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return nil
}

// listenAdmin listens on addr, or on a free port of the same host when addr is taken.
func (p *Pipeline) listenAdmin(addr string) (net.Listener, error) {
	lis, err := net.Listen("tcp", addr)
	if err == nil {
		return lis, nil
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if !errors.Is(err, syscall.EADDRINUSE) || splitErr != nil {
		return nil, fmt.Errorf("demo: admin API: %w", err)
	}
	lis, err2 := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err2 != nil {
		return nil, fmt.Errorf("demo: admin API: %w; and a free port: %w", err, err2)
	}
	p.notes = append(p.notes, fmt.Sprintf("%s is taken: the admin API listens on %s instead", addr, lis.Addr()))
	return lis, nil
}

// writeTokens makes an admin token and writes the tokens file the admin API reads.
func (p *Pipeline) writeTokens() error {
	p.token = rand.Text()
	p.tokens = filepath.Join(p.dir, "admin-tokens")
	data := "# auditpipe demo: one admin token, made for this run\nadmin " + p.token + "\n"
	if err := os.WriteFile(p.tokens, []byte(data), 0o600); err != nil {
		return fmt.Errorf("demo: tokens file: %w", err)
	}
	return nil
}

// config is the configuration of every engine: config.Default() with the demo's servers and
// a few faster settings.
func (p *Pipeline) config(adminAddr string) *config.Config {
	cfg := config.Default()
	cfg.StartTime = p.start
	cfg.Timeout = pollInterval
	cfg.Batch = pageSize
	cfg.WindowSize = windowSize
	cfg.Teleport.Addr = p.sim.Addr()
	cfg.Teleport.Identity = p.sim.Credentials().Identity
	cfg.Forward.Fluentd = p.recv.sinkConfig(cfg.Forward.Fluentd)
	cfg.Redis = config.Redis{Addr: p.redis.addr, KeyPrefix: p.redis.prefix}
	cfg.NATS.URL = p.natsSrv.ClientURL()
	cfg.Shipper.Sinks = []string{config.SinkFluentd}
	cfg.Admin.Listen = adminAddr
	cfg.Admin.TokensFile = p.tokens
	cfg.Metrics.Listen = "" // the admin API serves /metrics for the whole process
	return cfg
}

// jetStream connects to NATS as name and returns a serialized JetStream handle.
func (p *Pipeline) jetStream(name string, opts ...jetstream.JetStreamOpt) (jetstream.JetStream, error) {
	nc, err := clients.NATS(p.cfg.NATS, name, p.log.With("component", name))
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	p.conns = append(p.conns, nc)
	js, err := jetstream.New(nc, opts...)
	if err != nil {
		return nil, fmt.Errorf("demo: JetStream: %w", err)
	}
	return stream.Serialized(js, &p.jsMu), nil
}

// startShippers starts the shipper replicas, each with its own connection and fluentd sink.
func (p *Pipeline) startShippers(cfg shipper.Config) error {
	for i := range p.opts.Shippers {
		id := fmt.Sprintf("demo-shipper-%d", i+1)
		js, err := p.jetStream("auditpipe-shipper " + id)
		if err != nil {
			return err
		}
		log := p.log.With("component", "shipper", "replica", id)
		sink, err := fluentd.New(p.cfg.Forward.Fluentd, fluentd.WithRegisterer(p.reg), fluentd.WithLogger(log))
		if err != nil {
			return fmt.Errorf("demo: fluentd sink: %w", err)
		}
		eng, err := shipper.New(cfg, []shipper.Target{{Sink: sink, Batch: p.cfg.Forward.Fluentd.Batch}},
			shipper.Deps{JetStream: js, Registerer: p.reg, Logger: log})
		if err != nil {
			sink.Close()
			return fmt.Errorf("demo: shipper: %w", err)
		}
		p.shippers = append(p.shippers, eng)
		p.tasks.shippers = append(p.tasks.shippers, p.goTask(id, func(ctx context.Context) error {
			defer sink.Close()
			return eng.Run(ctx)
		}))
		p.beat(replicas.ServiceShipper, id, func() any { return shipper.Member(eng.Status()) })
	}
	return nil
}

// startIngest starts the ingest engine.
func (p *Pipeline) startIngest() error {
	cfg := ingest.FromConfig(p.cfg, ingestID)
	js, err := p.jetStream("auditpipe-ingest "+ingestID, jetstream.WithPublishAsyncMaxPending(cfg.MaxPending))
	if err != nil {
		return err
	}
	eng, err := ingest.New(cfg, ingest.Deps{Source: p.tc, Redis: p.rdb, JetStream: js, Registerer: p.reg,
		Logger: p.log.With("component", "ingest")})
	if err != nil {
		return fmt.Errorf("demo: ingest: %w", err)
	}
	p.ingest = eng
	p.tasks.ingest = p.goTask("ingest", eng.Run)
	p.beat(replicas.ServiceIngest, ingestID, func() any { return eng.Status().Member() })
	return nil
}

// startAdmin starts the admin API on its listener.
func (p *Pipeline) startAdmin() error {
	lis := p.adminLis
	js, err := p.jetStream("auditpipe-admin " + adminID)
	if err != nil {
		return err
	}
	srv, err := admin.New(p.cfg, admin.Deps{Redis: p.rdb, JetStream: js, Registry: p.registry,
		Registerer: p.reg, Gatherer: p.reg, Logger: p.log.With("component", "admin")})
	if err != nil {
		return fmt.Errorf("demo: admin API: %w", err)
	}
	p.admin = srv
	p.adminURL = "http://" + dialable(lis.Addr())
	p.adminLis = nil // Serve closes it
	p.tasks.admin = p.goTask("admin API", func(ctx context.Context) error { return srv.Serve(ctx, lis) })
	p.beat(replicas.ServiceAdmin, adminID, nil)
	return nil
}

// dialable is the address to reach a listener at: its own, with 127.0.0.1 (or ::1) for an
// unspecified IP.
func dialable(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	if tcp.IP.To4() == nil {
		return net.JoinHostPort("::1", fmt.Sprint(tcp.Port))
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
}

// beat registers a replica in the register until Stop.
func (p *Pipeline) beat(service, id string, status func() any) {
	rep := replicas.Replica{Service: service, ID: id, Version: "demo"}
	log := p.log.With("component", service, "replica", id)
	p.tasks.beats = append(p.tasks.beats, p.goTask("beats of "+id, func(ctx context.Context) error {
		return p.registry.Run(ctx, rep, beatInterval, status, func(err error) {
			log.Warn("replica register", "err", err)
		})
	}))
}

// waitReady waits until ingest runs and every shipper ships.
func (p *Pipeline) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var notReady []string
		if !p.ingest.Status().Running {
			notReady = append(notReady, "ingest is not running")
		}
		for i, eng := range p.shippers {
			if err := eng.Ready(fluentd.Name); err != nil {
				notReady = append(notReady, fmt.Sprintf("shipper %d: %v", i+1, err))
			}
		}
		if len(notReady) == 0 {
			return nil
		}
		select {
		case <-p.failed:
			return p.failErr
		case <-ctx.Done():
			return fmt.Errorf("demo: the pipeline did not start: %s: %w", strings.Join(notReady, "; "), ctx.Err())
		case <-tick.C:
		}
	}
}

// task is a goroutine of the pipeline that runs until its context is cancelled.
type task struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set before done is closed
}

// goTask runs fn in a goroutine until the task is stopped. A task that returns before it is
// stopped, with an error or without, fails the pipeline.
func (p *Pipeline) goTask(name string, fn func(context.Context) error) *task {
	ctx, cancel := context.WithCancel(context.Background())
	t := &task{name: name, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		t.err = fn(ctx)
		if ctx.Err() == nil {
			err := t.err
			if err == nil {
				err = errors.New("stopped on its own")
			}
			p.fail(fmt.Errorf("demo: %s: %w", name, err))
		}
	}()
	return t
}

// stop cancels the task and waits for it until ctx ends.
func (t *task) stop(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.cancel()
	select {
	case <-t.done:
		if t.err != nil {
			return fmt.Errorf("%s: %w", t.name, t.err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s did not stop in time: %w", t.name, ctx.Err())
	}
}

// fail records the first failure of a part of the pipeline; Failed is closed then.
func (p *Pipeline) fail(err error) {
	select {
	case <-p.stopping:
		return // parts may fail while they are stopped one after the other
	default:
	}
	p.failOnce.Do(func() {
		p.failErr = err
		p.log.Error("demo: a part of the pipeline failed", "err", err)
		close(p.failed)
	})
}

// Failed is closed when a part of the pipeline failed (an engine returned an error, a server
// stopped); Err says which. The pipeline must still be stopped.
func (p *Pipeline) Failed() <-chan struct{} { return p.failed }

// Err is the first failure of a part of the pipeline, or nil.
func (p *Pipeline) Err() error {
	select {
	case <-p.failed:
		return p.failErr
	default:
		return nil
	}
}

// Stop stops the pipeline gracefully, source first: the live events, ingest (it finishes
// the page in hand), the shippers (they finish or hand back their batches), the register
// beats, the admin API, the simulated Teleport, the receiver, NATS and Redis (the demo's
// keys deleted from a shared one, a started redis-server stopped); then it removes the
// temporary directory. ctx bounds the waits: once it ends, the parts left are stopped at
// once. Stop returns the errors of the stops, and may be called more than once (it stops
// once). The receiver's counts stay readable.
func (p *Pipeline) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() {
		close(p.stopping)
		p.stopErr = p.stop(ctx)
	})
	return p.stopErr
}

func (p *Pipeline) stop(ctx context.Context) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	all := func(ts []*task) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, t := range ts {
			wg.Go(func() {
				err := t.stop(ctx)
				mu.Lock()
				defer mu.Unlock()
				add(err)
			})
		}
		wg.Wait()
	}
	add(p.tasks.live.stop(ctx))
	add(p.tasks.ingest.stop(ctx))
	all(p.tasks.shippers)
	all(p.tasks.beats)
	add(p.tasks.admin.stop(ctx))
	if p.adminLis != nil { // never served
		_ = p.adminLis.Close()
	}
	if p.admin != nil {
		add(p.admin.Close())
	}
	if p.tc != nil {
		add(p.tc.Close())
	}
	if p.tasks.sim != nil {
		add(p.tasks.sim.stop(ctx))
	} else if p.sim != nil {
		add(p.sim.Close())
	}
	if p.recv != nil {
		add(p.recv.close(ctx))
	}
	if p.js != nil {
		sizes := p.streamSizes(ctx)
		p.finalMu.Lock()
		p.final = sizes
		p.finalMu.Unlock()
	}
	for _, nc := range p.conns {
		if nc.IsConnected() {
			_ = nc.FlushTimeout(2 * time.Second)
		}
		nc.Close()
	}
	if p.natsSrv != nil {
		p.natsSrv.Shutdown()
		p.natsSrv.WaitForShutdown()
	}
	if p.rdb != nil {
		add(p.rdb.Close())
	}
	if p.redis != nil {
		cleanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		add(p.redis.close(cleanCtx))
		cancel()
	}
	if p.logFile != nil {
		if len(errs) > 0 {
			p.log.Error("demo: stopped with errors", "err", errors.Join(errs...))
		}
		add(p.logFile.Close())
	}
	if p.dir != "" {
		add(os.RemoveAll(p.dir))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("demo: stop: %w", err)
	}
	return nil
}

// AdminURL is the admin API's base URL, http://host:port.
func (p *Pipeline) AdminURL() string { return p.adminURL }

// AdminToken is the admin-scope bearer token of the admin API, made for this run.
func (p *Pipeline) AdminToken() string { return p.token }

// AdminClient returns a client of the admin API with the admin token.
func (p *Pipeline) AdminClient() (*adminapi.Client, error) {
	return adminapi.NewClient(p.adminURL, p.token, adminapi.WithUserAgent("auditpipe-demo"))
}

// Received returns how many events reached the receiver, by event type (audit events and
// recording events alike). It stays readable after Stop.
func (p *Pipeline) Received() map[string]int { return p.recv.counts().ByType }

// Dir is the temporary directory that holds the pipeline's files; Stop removes it.
func (p *Pipeline) Dir() string { return p.dir }

// LogFile is the file the engines and servers log to.
func (p *Pipeline) LogFile() string { return p.logPath }

// StartTime is the configured start-time: ingest exports the events from it on.
func (p *Pipeline) StartTime() time.Time { return p.start }

// Notes are remarks about how the pipeline was set up (e.g. that the admin address was taken
// and another port is used), for the user.
func (p *Pipeline) Notes() []string { return append([]string(nil), p.notes...) }
