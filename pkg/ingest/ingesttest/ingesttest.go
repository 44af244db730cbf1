// Package ingesttest runs ingest engines in a test as the replicas of one deployment: each
// with a Redis client and a NATS connection of its own, as a process has, on a Redis and a
// NATS server the replicas share; started with the test and stopped by its end at the
// latest. pkg/ingest's tests (on a simulated Source) and test/scale (through the production
// Teleport client, at full scale) build their replicas with it.
package ingesttest

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/testenv"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// Config is a test engine's Config for owner, reading from start: fast polls (100 ms), pages
// of 500, 4 windows and 4 recordings at once, every recording event exported, windows w, the
// events stream stream.DefaultName in memory with a 2 h duplicate window, a 1 s leader TTL, a
// 5 s drain and retries from 10 ms to 200 ms.
func Config(owner string, start time.Time, w window.Config) ingest.Config {
	c := ingest.DefaultConfig()
	c.Owner = owner
	c.Start = start
	c.Timeout = 100 * time.Millisecond
	c.Batch = 500
	c.SkipSessionTypes = nil // export everything unless a test filters
	c.Concurrency = 4
	c.SessionConcurrency = 4
	c.Window = w
	c.Stream = stream.Options{Name: stream.DefaultName, Storage: jetstream.MemoryStorage, DuplicateWindow: 2 * time.Hour}
	c.LeaderTTL = time.Second
	c.DrainTimeout = 5 * time.Second
	c.RetryInitial = 10 * time.Millisecond
	c.RetryMax = 200 * time.Millisecond
	return c
}

// WindowConfig is the windows' configuration of a test: keys under prefix (a
// testenv.RedisServer's), 2 s leases, and missing recordings retried from 100 ms to 500 ms.
func WindowConfig(prefix string) window.Config {
	c := window.DefaultConfig()
	c.KeyPrefix = prefix
	c.LeaseTTL = 2 * time.Second
	c.SessionRetry = window.Backoff{Initial: 100 * time.Millisecond, Max: 500 * time.Millisecond, GiveUpAfter: 10 * time.Minute}
	return c
}

// Servers are the Redis and NATS servers that a test's replicas share. The zero value of
// the unexported part is ready: Servers{Redis: r, NATS: n} will do.
type Servers struct {
	Redis *testenv.RedisServer
	NATS  *testenv.NATSServer

	// ensure serializes the replicas' stream creations and updates (stream.Serialized): they
	// share an embedded server.
	ensure sync.Mutex
}

// NewServers starts a Redis and a NATS server for t (testenv.Redis, testenv.NATS).
func NewServers(t testing.TB) *Servers {
	t.Helper()
	return &Servers{Redis: testenv.Redis(t), NATS: testenv.NATS(t)}
}

// Replica is one engine with the connections of its own that a process would have.
type Replica struct {
	Engine *ingest.Engine
	// Redis and NATS are the replica's own client and connection, closed at the test's end;
	// a test closes them early to cut the replica off.
	Redis *redis.Client
	NATS  *nats.Conn

	stop context.CancelFunc
	done chan error
}

// NewReplica builds an engine for cfg and deps on s, with a Redis client and a NATS
// connection of its own: they replace deps.Redis and deps.JetStream (a JetStream handle
// serialized with the other replicas' and holding 2×cfg.MaxPending asynchronous publishes);
// deps.Logger, when nil, is Logger(t, cfg.Owner). The engine does not run: Start runs it, or
// the test calls Engine.Run.
func (s *Servers) NewReplica(t testing.TB, cfg ingest.Config, deps ingest.Deps) *Replica {
	t.Helper()
	r := &Replica{Redis: s.Redis.Client(t), NATS: s.NATS.Conn(t)}
	js, err := jetstream.New(r.NATS, jetstream.WithPublishAsyncMaxPending(2*cfg.MaxPending))
	if err != nil {
		t.Fatal(err)
	}
	deps.Redis, deps.JetStream = r.Redis, stream.Serialized(js, &s.ensure)
	if deps.Logger == nil {
		deps.Logger = Logger(t, cfg.Owner)
	}
	if r.Engine, err = ingest.New(cfg, deps); err != nil {
		t.Fatalf("ingest.New: %v", err)
	}
	return r
}

// Start runs the engine until Halt, or the end of the test, which halts it.
func (r *Replica) Start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.Engine.Run(ctx) }()
	t.Cleanup(func() { _ = r.Halt(t) })
}

// Halt stops the engine that Start runs and returns what Run returned; it fails the test
// (t.Fatalf) when Run does not return within 30 s. A second Halt returns nil at once.
func (r *Replica) Halt(t testing.TB) error {
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

// Logger logs to the test (t.Log), as text with replica=name, at WARN, or at the level that
// the variable AUDITPIPE_TEST_LOG names (e.g. AUDITPIPE_TEST_LOG=debug).
func Logger(t testing.TB, name string) *slog.Logger {
	level := slog.LevelWarn
	if s := os.Getenv("AUDITPIPE_TEST_LOG"); s != "" {
		_ = level.UnmarshalText([]byte(s))
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level})).With("replica", name)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// StreamCount is the number of messages in the stream name, 0 before it exists (or when
// JetStream does not answer).
func StreamCount(ctx context.Context, js jetstream.StreamManager, name string) uint64 {
	s, err := js.Stream(ctx, name)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// WaitCount polls StreamCount every 50 ms until the stream name holds at least n messages,
// and fails the test (t.Fatalf, with the most it saw) when limit passes first.
func WaitCount(t testing.TB, js jetstream.StreamManager, name string, n int, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var got uint64
	for {
		got = max(got, StreamCount(ctx, js, name))
		if got >= uint64(n) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stream %s holds %d messages after %v, want %d", name, got, limit, n)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
