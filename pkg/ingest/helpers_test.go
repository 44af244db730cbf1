package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/ingest/ingesttest"
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
	t       testing.TB
	servers *ingesttest.Servers
	redis   *testenv.RedisServer
	rdb     *redis.Client
	js      jetstream.JetStream
	stream  string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	s := ingesttest.NewServers(t)
	e := &env{t: t, servers: s, redis: s.Redis, rdb: s.Redis.Client(t), stream: stream.DefaultName}
	var err error
	if e.js, err = jetstream.New(s.NATS.Conn(t)); err != nil {
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

func (e *env) windowConfig() window.Config { return ingesttest.WindowConfig(e.redis.Prefix) }

// config is a test engine's Config (ingesttest.Config): fast polls, short leases, memory
// storage.
func (e *env) config(owner string, start time.Time) ingest.Config {
	c := ingesttest.Config(owner, start, e.windowConfig())
	c.Stream.Name = e.stream
	return c
}

// replica is one engine with its own NATS connection and Redis client, as a process has, and
// its own metrics registry.
type replica struct {
	*ingesttest.Replica
	reg *prometheus.Registry
}

// engine builds a replica's engine over src (a *simSource, or a *teleportsrc.Client); it does
// not run it.
func (e *env) engine(cfg ingest.Config, src ingest.Source) *replica {
	e.t.Helper()
	r := &replica{reg: prometheus.NewRegistry()}
	deps := ingest.Deps{Source: src, Registerer: r.reg}
	if _, ok := src.(*simSource); ok {
		deps.Classify = classifySim // else the default, teleportsrc's
	}
	r.Replica = e.servers.NewReplica(e.t, cfg, deps)
	return r
}

// start runs a replica until its Halt (or the test's end).
func (e *env) start(cfg ingest.Config, src ingest.Source) *replica {
	e.t.Helper()
	r := e.engine(cfg, src)
	r.Start(e.t)
	return r
}

// eachMode runs test in a parallel subtest of t for each mode, named for the mode.
func eachMode(t *testing.T, test func(t *testing.T, mode ingest.Mode)) {
	t.Helper()
	for _, mode := range []ingest.Mode{ingest.ModeSearch, ingest.ModeExport} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			test(t, mode)
		})
	}
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
	return ingesttest.StreamCount(ctx, e.js, e.stream)
}

// waitCount waits until the stream holds at least n messages, failing the test after limit.
func (e *env) waitCount(n int, limit time.Duration) {
	e.t.Helper()
	ingesttest.WaitCount(e.t, e.js, e.stream, n, limit)
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

// eventually polls cond every 20 ms until it holds, failing the test after limit with what
// and the result of describe (when set).
func eventually(t testing.TB, limit time.Duration, what string, cond func() bool, describe func() string) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			if describe != nil {
				what += ": " + describe()
			}
			t.Fatalf("not within %v: %s", limit, what)
		}
	}
}

// recent returns a log range of days whole days ending an hour ago, to the minute.
func recent(days int) (from, to time.Time) {
	to = time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	return to.Add(-time.Duration(days) * 24 * time.Hour), to
}
