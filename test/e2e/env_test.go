package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/streamcheck"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// sim is a running teleport-sim.
type sim struct {
	*proc
	addr, identity, manifest string
	from, to                 time.Time
}

// startSim starts teleport-sim with count audit events over the 72 h before now, plus args,
// and waits until it serves.
func startSim(t testing.TB, count int, args ...string) *sim {
	t.Helper()
	dir := t.TempDir()
	s := &sim{to: time.Now().UTC().Truncate(time.Second), manifest: filepath.Join(dir, "manifest.jsonl")}
	s.from = s.to.Add(-72 * time.Hour)
	ready := filepath.Join(dir, "ready.json")
	args = append([]string{"--out", filepath.Join(dir, "creds"), "--listen", "127.0.0.1:0", "--ready-file", ready,
		"--manifest", s.manifest, "--count", strconv.Itoa(count), "--log-level", "warn",
		"--from", s.from.Format(time.RFC3339), "--to", s.to.Format(time.RFC3339)}, args...)
	s.proc = startProc(t, "teleport-sim", bins(t).sim, nil, args...)
	var info struct{ Addr, Identity string }
	eventually(t, 60*time.Second, "teleport-sim ready", func() bool {
		if s.exited() {
			t.Fatalf("teleport-sim exited:\n%s", s.tail(20))
		}
		data, err := os.ReadFile(ready)
		return err == nil && json.Unmarshal(data, &info) == nil
	})
	s.addr, s.identity = info.Addr, info.Identity
	return s
}

// want reads the manifest: the message id each event must reach the stream with (audit: uid;
// session: sid:ei), mapped to the SHA-256 of its JSON.
func (s *sim) want(t testing.TB) streamcheck.Want {
	t.Helper()
	f, err := os.Open(s.manifest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := streamcheck.ReadWant(f)
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// env is one scenario's servers: teleport-sim, Redis and NATS.
type env struct {
	sim   *sim
	redis *testenv.RedisServer
	nats  *testenv.NATSServer
}

func newEnv(t testing.TB, s *sim) env {
	t.Helper()
	return env{sim: s, redis: testenv.Redis(t), nats: testenv.NATS(t)}
}

// config writes an ingest configuration for the env and returns its path: export from the
// start of the simulated log, pages of 1000, 4 windows and 4 recordings at once per replica,
// every session event type (the default skips print), and the health server on a free port.
// keyPrefix is appended to the env's Redis key prefix, for a separate ingest state.
func (e env) config(t testing.TB, keyPrefix string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "auditpipe.toml")
	toml := fmt.Sprintf(`start-time = %q
timeout = "1s"
batch = 1000
concurrency = 4
skip-session-types = []

[teleport]
addr = %q
identity = %q

[redis]
addr = %q
key-prefix = %q

[nats]
url = %q

[metrics]
listen = "127.0.0.1:0"
`, e.sim.from.Format(time.RFC3339), e.sim.addr, e.sim.identity, e.redis.Addr, e.redis.Prefix+keyPrefix, e.nats.URL)
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ingest is a running auditpipe-ingest.
type ingest struct {
	*proc
	// base is the health server's URL, http://127.0.0.1:port.
	base string
}

// startIngest starts auditpipe-ingest with the configuration file cfg as replica owner, plus
// args, and waits until its health server listens (not until it is ready).
func startIngest(t testing.TB, cfg, owner string, args ...string) *ingest {
	t.Helper()
	addr := make(chan string, 1)
	onLine := func(line string) {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && strings.HasPrefix(rec.Msg, "serving /healthz") {
			addr <- rec.Addr
		}
	}
	args = append([]string{"--config", cfg, "--owner", owner}, args...)
	p := startProc(t, owner, bins(t).ingest, onLine, args...)
	select {
	case a := <-addr:
		return &ingest{proc: p, base: "http://" + a}
	case <-p.done:
		t.Fatalf("%s exited at start:\n%s", owner, p.tail(20))
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no health server address logged within 30s", owner)
	}
	return nil
}

// get fetches path from the health server: its status code and body; code 0 when it does not
// answer.
func (in *ingest) get(path string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(in.base + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// metric is the sum of the samples of the metric name whose labels include every one of
// labels (each written name="value"), from /metrics. It fails the test when the health server
// does not answer.
func (in *ingest) metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	code, body := in.get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("%s /metrics: %d %s", in.name, code, body)
	}
	return sumSamples(body, name, labels...)
}

// sumSamples adds the samples of name in Prometheus text exposition whose labels include
// every one of labels.
func sumSamples(body, name string, labels ...string) float64 {
	var sum float64
	for line := range strings.Lines(body) {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		matched := true
		for _, l := range labels {
			matched = matched && strings.Contains(rest, l)
		}
		fields := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if !matched || len(fields) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// eventually polls cond every 100 ms until it holds, failing the test after timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitExit0 waits for every replica to exit and checks that each exited with 0.
func waitExit0(t testing.TB, timeout time.Duration, replicas ...*ingest) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, r := range replicas {
		if code := r.wait(t, time.Until(deadline)); code != 0 {
			t.Fatalf("%s exited with %d, want 0:\n%s", r.name, code, r.tail(20))
		}
	}
}

// streamCtx bounds a test's reads of the stream.
func streamCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
