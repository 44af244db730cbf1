package scale

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/streamcheck"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// skewClock is the system clock plus an offset the test moves forward: time runs at its real
// pace (leases, retries and recording delays behave as usual) and can jump, so that settle
// passes due days later become due at once.
type skewClock struct{ offset atomic.Int64 }

func (c *skewClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Jump moves the clock d forward.
func (c *skewClock) Jump(d time.Duration) { c.offset.Add(int64(d)) }

// cpuTime is the CPU time the test process has used (user and system): the engines, the
// simulator and NATS run in it; Redis does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the test process's peak resident memory in MiB (Linux reports KiB).
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) / 1024
}

// startSim serves log over gRPC and mutual TLS, as a Teleport Auth Service, until the test
// ends. Without export, it answers the export API Unimplemented (as Teleport on DynamoDB), so
// the engines' probe chooses search mode.
func startSim(t testing.TB, log *teleportsim.Log, export bool) *teleportsim.Server {
	t.Helper()
	srv, err := teleportsim.NewServer(teleportsim.ServerConfig{Log: log, CredentialsDir: t.TempDir(),
		IdentityTTL: 7 * 24 * time.Hour, // past the client's 24 h expiry warning
		Faults:      teleportsim.Faults{ExportNotImplemented: !export}})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simulator Run: %v", err)
		}
	})
	return srv
}

// serialJS is a replica's JetStream handle whose stream and bucket creations and updates take
// turns with the other replicas' (copied from pkg/ingest's tests): nats-server v2.12.1 reads
// every stream's config without its lock while it creates or updates one, a race the
// detector reports when replicas sharing an embedded server run stream.Ensure at once. This
// package runs without -race; the pattern is kept so that it stays clean with it.
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

// replica is one engine with what a process of its own would have: a Teleport client (its own
// gRPC connection), a Redis client and a NATS connection.
type replica struct {
	eng  *ingest.Engine
	stop context.CancelFunc
	done chan error
}

// newReplica builds an engine for cfg over the simulator srv, Redis rs and NATS ns; it does not
// run it. ensure serializes the stream creations of the replicas that share ns (serialJS).
func newReplica(t testing.TB, cfg ingest.Config, srv *teleportsim.Server, rs *testenv.RedisServer, ns *testenv.NATSServer, ensure *sync.Mutex) *replica {
	t.Helper()
	dial, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := teleportsrc.New(dial, config.Teleport{Addr: srv.Addr(), Identity: srv.Credentials().Identity},
		teleportsrc.WithLogger(testLogger(t, cfg.Owner+"/teleport")))
	if err != nil {
		t.Fatalf("teleportsrc.New: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	js, err := jetstream.New(ns.Conn(t), jetstream.WithPublishAsyncMaxPending(2*cfg.MaxPending))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := ingest.New(cfg, ingest.Deps{Source: client, Redis: rs.Client(t), JetStream: serialJS{JetStream: js, mu: ensure},
		Logger: testLogger(t, cfg.Owner)})
	if err != nil {
		t.Fatalf("ingest.New: %v", err)
	}
	return &replica{eng: eng}
}

// start runs the replica until halt (or the test's end).
func (r *replica) start(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.eng.Run(ctx) }()
	t.Cleanup(func() { r.halt(t) })
}

// halt stops the replica and returns what Run returned; it is idempotent.
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

// manifest is the Want of a log with options o (uid for audit events, sid:ei for recording
// events) and its number of recording events. A Log is a pure function of its options, so
// every log of the same options has this manifest.
func manifest(t testing.TB, o teleportsim.Options) (want streamcheck.Want, sessionEvents int) {
	t.Helper()
	l, err := teleportsim.NewLog(o)
	if err != nil {
		t.Fatalf("NewLog: %v", err)
	}
	want, err = streamcheck.WantLog(l, func(m teleportsim.ManifestEntry) bool {
		if m.Kind == teleportsim.KindSession {
			sessionEvents++
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return want, sessionEvents
}

// streamCount is the number of messages in the events stream (0 before it exists).
func streamCount(ctx context.Context, js jetstream.JetStream) uint64 {
	s, err := js.Stream(ctx, stream.DefaultName)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// waitFor polls cond every 100 ms until it holds, failing the test after limit with the last
// state cond described.
func waitFor(t testing.TB, limit time.Duration, what string, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		ok, state := cond(ctx)
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %v (%s)", what, limit, state)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
