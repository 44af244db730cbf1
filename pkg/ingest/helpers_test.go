package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/streamcheck"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/testenv"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// simSource is a Source over a teleportsim.Log, skipping only the gRPC hop: the Log is the
// real simulator. It can inject transient errors and cut streams, and run a hook before each
// call.
type simSource struct {
	log      *teleportsim.Log
	noExport bool // ProbeExport answers false, the export calls NotImplemented

	mu       sync.Mutex
	rng      *rand.Rand
	failRate float64 // chance of a transient error per call
	cutRate  float64 // chance of a broken stream per streamed event

	// hook, when set, runs before every call; its error is the call's. yieldHook, when set,
	// runs before each event a stream yields; its error breaks the stream.
	hook      func(ctx context.Context, c call) error
	yieldHook func(ctx context.Context, c call) error

	calls atomic.Int64
}

// call describes a Source call to the hooks: the method ("probe", "search", "chunks",
// "export", "session") and its cursor, chunk or session id.
type call struct {
	op, cursor, chunk, sid string
}

var (
	errTransient      = errors.New("sim: transient failure (injected)")
	errNotImplemented = errors.New("sim: export not implemented")
)

func newSimSource(l *teleportsim.Log) *simSource {
	return &simSource{log: l, rng: rand.New(rand.NewPCG(1, 2))}
}

// faults makes calls fail transiently with probability failRate and streams break with
// probability cutRate per event.
func (s *simSource) faults(failRate, cutRate float64) *simSource {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRate, s.cutRate = failRate, cutRate
	return s
}

func (s *simSource) chance(p float64) bool {
	if p == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64() < p
}

func (s *simSource) before(ctx context.Context, c call) error {
	s.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.hook != nil {
		if err := s.hook(ctx, c); err != nil {
			return err
		}
	}
	if s.chance(s.failRate) {
		return fmt.Errorf("%s: %w", c.op, errTransient)
	}
	return nil
}

// streamed runs before each event a stream yields: the yield hook, and a cut with probability
// cutRate.
func (s *simSource) streamed(ctx context.Context, c call) error {
	if s.yieldHook != nil {
		if err := s.yieldHook(ctx, c); err != nil {
			return err
		}
	}
	if s.chance(s.cutRate) {
		return fmt.Errorf("%s stream cut: %w", c.op, errTransient)
	}
	return nil
}

func (s *simSource) ProbeExport(ctx context.Context) (bool, error) {
	if err := s.before(ctx, call{op: "probe"}); err != nil {
		return false, err
	}
	return !s.noExport, nil
}

func (s *simSource) Search(ctx context.Context, from, to time.Time, types []string, limit int, cursor string) ([]event.Event, string, error) {
	if err := s.before(ctx, call{op: "search", cursor: cursor}); err != nil {
		return nil, "", err
	}
	page, next, err := s.log.Search(teleportsim.SearchQuery{From: from, To: to, Types: types, Limit: limit, StartKey: cursor})
	if err != nil {
		return nil, "", err
	}
	out := make([]event.Event, len(page))
	for i, ev := range page {
		if out[i], err = convert(ev); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}

func (s *simSource) ExportChunks(ctx context.Context, day time.Time) ([]string, error) {
	if err := s.before(ctx, call{op: "chunks"}); err != nil {
		return nil, err
	}
	if s.noExport {
		return nil, errNotImplemented
	}
	return s.log.ExportChunks(day)
}

func (s *simSource) ExportChunk(ctx context.Context, day time.Time, chunk, cursor string, yield func(event.Event, string) error) error {
	if err := s.before(ctx, call{op: "export", cursor: cursor, chunk: chunk}); err != nil {
		return err
	}
	if s.noExport {
		return errNotImplemented
	}
	return s.log.ExportChunk(day, chunk, cursor, func(ev teleportsim.Event, c string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.streamed(ctx, call{op: "export", cursor: c, chunk: chunk}); err != nil {
			return err
		}
		e, err := convert(ev)
		if err != nil {
			return err
		}
		return yield(e, c)
	})
}

func (s *simSource) SessionEvents(ctx context.Context, sid string, start int64, yield func(event.Event) error) error {
	if err := s.before(ctx, call{op: "session", sid: sid}); err != nil {
		return err
	}
	return s.log.SessionEvents(sid, start, func(ev teleportsim.Event) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.streamed(ctx, call{op: "session", sid: sid}); err != nil {
			return err
		}
		e, err := convert(ev)
		if err != nil {
			return err
		}
		return yield(e)
	})
}

// convert turns a simulator event into an envelope as teleportsrc does: parsed from the JSON.
func convert(ev teleportsim.Event) (event.Event, error) {
	return event.Parse(event.Kind(ev.Kind), ev.JSON)
}

// classifySim classifies the simulator's errors, as teleportsrc.Classify does Teleport's.
func classifySim(err error) ingest.Class {
	switch {
	case errors.Is(err, teleportsim.ErrNotFound):
		return ingest.NotFound
	case errors.Is(err, teleportsim.ErrBadCursor):
		return ingest.BadCursor
	case errors.Is(err, errNotImplemented):
		return ingest.NotImplemented
	case errors.Is(err, teleportsim.ErrBadRequest):
		return ingest.Fatal
	}
	return ingest.Retry
}

// env is one test's Redis and NATS, shared by its engines as replicas share them.
type env struct {
	t      testing.TB
	redis  *testenv.RedisServer
	nats   *testenv.NATSServer
	rdb    *redis.Client
	js     jetstream.JetStream
	stream string
	// ensure serializes the replicas' stream creations and updates (see serialJS).
	ensure sync.Mutex
}

// serialJS is a replica's JetStream handle whose stream and bucket creations and updates
// take turns with the other replicas' of the env. nats-server v2.12.1 reads every stream's
// config without its lock while it creates or updates one (jsAccount.tieredReservation),
// which the race detector reports when replicas that share an embedded server start at once
// and each runs stream.Ensure. The server's race, not the engine's.
type serialJS struct {
	jetstream.JetStream
	mu *sync.Mutex
}

func (s serialJS) CreateOrUpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.JetStream.CreateOrUpdateStream(ctx, cfg)
}

func (s serialJS) CreateOrUpdateObjectStore(ctx context.Context, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.JetStream.CreateOrUpdateObjectStore(ctx, cfg)
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, redis: testenv.Redis(t), nats: testenv.NATS(t), stream: stream.DefaultName}
	e.rdb = e.redis.Client(t)
	var err error
	if e.js, err = jetstream.New(e.nats.Conn(t)); err != nil {
		t.Fatal(err)
	}
	return e
}

// store is a window.Store over the env's Redis, as the admin service would have.
func (e *env) store() *window.Store {
	e.t.Helper()
	s, err := window.New(e.rdb, e.windowConfig())
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) windowConfig() window.Config {
	c := window.DefaultConfig()
	c.KeyPrefix = e.redis.Prefix
	c.LeaseTTL = 2 * time.Second
	c.SessionRetry = window.Backoff{Initial: 100 * time.Millisecond, Max: 500 * time.Millisecond, GiveUpAfter: 10 * time.Minute}
	return c
}

// config is a test engine's Config: fast polls, short leases, memory storage.
func (e *env) config(owner string, start time.Time) ingest.Config {
	c := ingest.DefaultConfig()
	c.Owner = owner
	c.Start = start
	c.Timeout = 100 * time.Millisecond
	c.Batch = 500
	c.SkipSessionTypes = nil // export everything unless a test filters
	c.Concurrency = 4
	c.SessionConcurrency = 4
	c.Window = e.windowConfig()
	c.Stream = stream.Options{Name: e.stream, Storage: jetstream.MemoryStorage, DuplicateWindow: 2 * time.Hour}
	c.LeaderTTL = time.Second
	c.DrainTimeout = 5 * time.Second
	c.RetryInitial = 10 * time.Millisecond
	c.RetryMax = 200 * time.Millisecond
	return c
}

// replica is one engine with its own NATS connection and Redis client, as a process has.
type replica struct {
	eng  *ingest.Engine
	reg  *prometheus.Registry
	rdb  *redis.Client
	nc   *nats.Conn
	stop context.CancelFunc
	done chan error
}

// engine builds a replica's engine over src (a *simSource, or a *teleportsrc.Client); it does
// not run it.
func (e *env) engine(cfg ingest.Config, src ingest.Source) *replica {
	e.t.Helper()
	r := &replica{reg: prometheus.NewRegistry(), rdb: e.redis.Client(e.t), nc: e.nats.Conn(e.t)}
	js, err := jetstream.New(r.nc, jetstream.WithPublishAsyncMaxPending(2*cfg.MaxPending))
	if err != nil {
		e.t.Fatal(err)
	}
	deps := ingest.Deps{Source: src, Redis: r.rdb, JetStream: serialJS{JetStream: js, mu: &e.ensure},
		Registerer: r.reg, Logger: testLogger(e.t, cfg.Owner)}
	if _, ok := src.(*simSource); ok {
		deps.Classify = classifySim // else the default, teleportsrc's
	}
	if r.eng, err = ingest.New(cfg, deps); err != nil {
		e.t.Fatalf("New: %v", err)
	}
	return r
}

// start runs a replica until its stop (or the test's end).
func (e *env) start(cfg ingest.Config, src ingest.Source) *replica {
	e.t.Helper()
	r := e.engine(cfg, src)
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.eng.Run(ctx) }()
	e.t.Cleanup(func() { r.halt(e.t) })
	return r
}

// halt stops the replica and waits for Run; it is idempotent.
func (r *replica) halt(t testing.TB) error {
	t.Helper()
	r.stop()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("Run did not return within 30s of its stop")
	}
	return nil
}

// testLogger logs to the test at warn level, or at the level AUDITPIPE_TEST_LOG names.
func testLogger(t testing.TB, owner string) *slog.Logger {
	level := slog.LevelWarn
	if s := os.Getenv("AUDITPIPE_TEST_LOG"); s != "" {
		_ = level.UnmarshalText([]byte(s))
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level})).With("replica", owner)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newLog generates a simulated log; the clock is the real one unless o.Now is set.
func newLog(t testing.TB, o teleportsim.Options) *teleportsim.Log {
	t.Helper()
	if o.Seed == 0 {
		o.Seed = 7
	}
	l, err := teleportsim.NewLog(o)
	if err != nil {
		t.Fatalf("NewLog: %v", err)
	}
	return l
}

// expected is the Want of every event of l (uid for audit events, sid:ei for session events);
// keep, when set, selects entries.
func expected(t testing.TB, l *teleportsim.Log, keep func(teleportsim.ManifestEntry) bool) streamcheck.Want {
	t.Helper()
	want, err := streamcheck.WantLog(l, keep)
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// streamCount is the number of messages in the stream (0 when it does not exist).
func (e *env) streamCount(ctx context.Context) uint64 {
	s, err := e.js.Stream(ctx, e.stream)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// waitCount waits until the stream holds at least n messages, failing the test after limit.
func (e *env) waitCount(n int, limit time.Duration) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var got uint64
	for {
		got = max(got, e.streamCount(ctx))
		if got >= uint64(n) {
			return
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			e.t.Fatalf("stream holds %d messages after %v, want %d", got, limit, n)
		}
	}
}

// exactlyOnce fails t unless the env's stream holds each event of want once, intact, and
// nothing else (streamcheck.ExactlyOnce).
func (e *env) exactlyOnce(t testing.TB, want streamcheck.Want) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	streamcheck.ExactlyOnce(t, ctx, e.js, e.stream, want)
}

func head(ids []string) []string { return ids[:min(len(ids), 5)] }

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// recent returns a log range of days whole days ending an hour ago, to the minute.
func recent(days int) (from, to time.Time) {
	to = time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	return to.Add(-time.Duration(days) * 24 * time.Hour), to
}
