package teleportsrc_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/logtest"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// simFrom and simTo bound the simulated logs: two and a half UTC days in the past, so that
// every recording is uploaded.
var (
	simFrom = time.Date(2025, 1, 26, 0, 0, 0, 0, time.UTC)
	simTo   = time.Date(2025, 1, 28, 12, 0, 0, 0, time.UTC)
)

// simLog returns a Log of count events over [simFrom, simTo) with o's realism switches.
func simLog(t testing.TB, count int, o teleportsim.Options) *teleportsim.Log {
	t.Helper()
	o.Seed, o.Count, o.From, o.To = 11, count, simFrom, simTo
	l, err := teleportsim.NewLog(o)
	if err != nil {
		t.Fatalf("NewLog: %v", err)
	}
	return l
}

// startSim starts a simulated Auth Service for cfg (CredentialsDir defaults to a temporary
// directory) and stops it when the test ends.
func startSim(t testing.TB, cfg teleportsim.ServerConfig) *teleportsim.Server {
	t.Helper()
	if cfg.CredentialsDir == "" {
		cfg.CredentialsDir = t.TempDir()
	}
	s, err := teleportsim.NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	runSim(t, s)
	return s
}

// runSim runs s until the test ends.
func runSim(t testing.TB, s *teleportsim.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simulator Run: %v", err)
		}
	})
}

// identityConfig is the [teleport] section for s's identity file; refresh enables reloading.
func identityConfig(s *teleportsim.Server, refresh bool) config.Teleport {
	return config.Teleport{
		Addr:     s.Addr(),
		Identity: s.Credentials().Identity,
		Refresh:  config.Refresh{Enabled: refresh, Interval: time.Hour},
	}
}

// keyPairConfig is the [teleport] section for s's key pair and CA.
func keyPairConfig(s *teleportsim.Server) config.Teleport {
	p := s.Credentials()
	return config.Teleport{Addr: s.Addr(), CA: p.CA, Cert: p.Cert, Key: p.Key, Refresh: config.Refresh{Interval: time.Hour}}
}

// newClient connects to Teleport with cfg and closes the Client when the test ends.
func newClient(t testing.TB, cfg config.Teleport, opts ...teleportsrc.Option) *teleportsrc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := teleportsrc.New(ctx, cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// logBuffer collects JSON log records while the client writes them.
type logBuffer struct{ logtest.Buffer }

// records returns the records logged so far whose message contains msg, decoded.
func (b *logBuffer) records(t testing.TB, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, rec := range b.Records(t) {
		if m, _ := rec["msg"].(string); strings.Contains(m, msg) {
			out = append(out, rec)
		}
	}
	return out
}

// waitRecord waits for a record whose message contains msg and returns the first.
func (b *logBuffer) waitRecord(t testing.TB, msg string) map[string]any {
	t.Helper()
	var recs []map[string]any
	eventually(t, 10*time.Second, "a log record "+msg, func() bool {
		recs = b.records(t, msg)
		return len(recs) > 0
	})
	return recs[0]
}

// newLogger returns a debug-level JSON logger writing to a logBuffer.
func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metric returns the sum of the gauges or counters name in reg whose labels include the given
// name/value pairs (0 when there is none).
func metric(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !found {
					continue next
				}
			}
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return sum
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("invalid JSON %q: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

// openStreams counts the goroutines, client or server side, of calls to an RPC of that name
// (e.g. "StreamUnstructuredSessionEvents"): the client's receive loop, the server's handler.
func openStreams(rpc string) int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, rpc) {
			n++
		}
	}
	return n
}

// waitNoStreams waits until no goroutine of a call to rpc is left.
func waitNoStreams(t testing.TB, rpc string) {
	t.Helper()
	eventually(t, 5*time.Second, "no goroutine left of "+rpc, func() bool { return openStreams(rpc) == 0 })
}
