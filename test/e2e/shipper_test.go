package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// shipperEvents is how many events the shipper tests put on the stream.
const shipperEvents = 100_000

// TestShipperDeliversEveryEvent publishes 100,000 events to TELEPORT_EVENTS once, then, for
// each sink, ships them to the sink's strict fake peer — Fluentd (mutual TLS, in_http's
// parsing) and the Datadog Logs intake (TLS, DD-API-KEY, gzip and the size limits) — with 1, 2
// and 4 auditpipe-shipper processes run with --sinks <sink> and sharing the sink's consumer,
// and with 2 processes of which one is killed with SIGKILL while it holds batches in flight.
// Each run starts the consumer from the start of the stream against a fresh peer, and checks
// that the peer received every event id at least once, intact and with the metadata the sink
// must send, that the consumer acknowledged every message, that SIGTERM stops a shipper with
// exit code 0 and that no shipper output shows a secret; duplicates (allowed: delivery is at
// least once) are counted and reported. The Datadog runs pass the API key in DD_API_KEY, the
// one with a killed replica in forward.datadog.api-key-file. -short ships 20,000.
func TestShipperDeliversEveryEvent(t *testing.T) {
	n := shipperEvents
	if testing.Short() {
		n = 20_000
	}
	bins(t) // built before the clocks start
	ns := testenv.NATS(t)
	js := natsJetStream(t, ns)
	published := time.Now()
	want := publishAudit(t, js, n)
	t.Logf("published %d events in %v", n, time.Since(published).Round(time.Millisecond))

	for _, sink := range shipperSinks {
		t.Run(sink.name, func(t *testing.T) {
			for _, replicas := range []int{1, 2, 4} {
				t.Run(fmt.Sprintf("%d-replicas", replicas), func(t *testing.T) {
					run := newShipperRun(t, ns, js, sink, true)
					started := time.Now()
					procs := make([]*shipperProc, replicas)
					for i := range procs {
						procs[i] = run.start(t, fmt.Sprintf("shipper-%d", i))
					}
					run.waitDelivered(t, n, 2*time.Minute, procs...)
					took := time.Since(started)
					run.waitAcked(t, n, 30*time.Second)
					acked := time.Since(started)
					for _, p := range procs {
						p.stop(t)
					}
					stopped := time.Since(started)
					dups := run.checkEveryID(t, want, procs...)
					t.Logf("%d replicas shipped %d events to %s in %v (%.0f events/s), %d duplicates; all acked at %v, stopped at %v, checked at %v; %s",
						replicas, n, run.peer, took.Round(time.Millisecond), float64(n)/took.Seconds(), dups,
						acked.Round(time.Millisecond), stopped.Round(time.Millisecond), time.Since(started).Round(time.Millisecond),
						run.peer.requests(t))
				})
			}
			t.Run("replica-killed-mid-batch", func(t *testing.T) {
				run := newShipperRun(t, ns, js, sink, false)
				// Each request waits 50 ms at the peer, so a replica always has batches out.
				run.peer.SetLatency(50 * time.Millisecond)
				started := time.Now()
				victim := run.start(t, "victim")
				survivor := run.start(t, "survivor")
				eventually(t, time.Minute, fmt.Sprintf("a quarter of the events at %s", run.peer), func() bool {
					return run.peer.Accepted() >= n/4
				})
				var inFlight float64
				eventually(t, 10*time.Second, "the victim holding a batch in flight", func() bool {
					inFlight = victim.metric(t, "auditpipe_shipper_batches_in_flight", fmt.Sprintf("sink=%q", sink.name))
					return inFlight > 0
				})
				victim.signal(syscall.SIGKILL)
				if code := victim.wait(t, 10*time.Second); code != -1 {
					t.Fatalf("the victim exited with %d before SIGKILL ended it", code)
				}
				accepted := run.peer.Accepted()
				if accepted >= n {
					t.Fatalf("%s had every event before the kill: nothing was in progress", run.peer)
				}
				t.Logf("killed the victim holding %v batches, with %d of %d events at %s", inFlight, accepted, n, run.peer)

				run.waitDelivered(t, n, 2*time.Minute, survivor)
				run.waitAcked(t, n, 30*time.Second)
				survivor.stop(t)
				dups := run.checkEveryID(t, want, victim, survivor)
				info := run.consumerInfo(t)
				t.Logf("after the kill: %d deliveries by the consumer for %d messages, %d duplicates at %s; done in %v; %s",
					info.Delivered.Consumer, n, dups, run.peer, time.Since(started).Round(time.Millisecond), run.peer.requests(t))
				// What the victim held unacknowledged was delivered again, to the survivor.
				if info.Delivered.Consumer <= uint64(n) {
					t.Fatalf("the consumer delivered %d times for %d messages: nothing the victim held was delivered again",
						info.Delivered.Consumer, n)
				}
			})
		})
	}
}

// natsJetStream connects to ns; the connection closes with the test.
func natsJetStream(t testing.TB, ns *testenv.NATSServer) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(ns.Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// publishAudit creates the streams as the services do and publishes n audit events,
// sinktest.AuditEvent(0) to (n-1), in pages of 1000. It returns their bodies by uid.
func publishAudit(t testing.TB, js jetstream.JetStream, n int) map[string]string {
	t.Helper()
	ctx := streamCtx(t)
	opts := stream.OptionsFromConfig(config.Default().NATS)
	if err := stream.Ensure(ctx, js, opts); err != nil {
		t.Fatal(err)
	}
	p, err := stream.NewPublisher(ctx, js, stream.PublisherOptions{Stream: opts})
	if err != nil {
		t.Fatal(err)
	}
	const page = 1000
	events := make([]event.Event, 0, page)
	want := make(map[string]string, n)
	for i := 0; i < n; i += page {
		events = events[:0]
		for j := i; j < min(i+page, n); j++ {
			ev := sinktest.AuditEvent(j)
			events = append(events, ev)
			want[ev.UID] = string(ev.Body)
		}
		if _, err := p.PublishPage(ctx, events, event.Replay{}); err != nil {
			t.Fatalf("publish events %d to %d: %v", i, i+len(events)-1, err)
		}
	}
	if got := streamMsgs(ctx, t, js); got != uint64(n) {
		t.Fatalf("the stream holds %d messages, want %d", got, n)
	}
	return want
}

// shipperRun is one run of shippers of one sink over the stream: a fresh peer, and the
// sink's consumer deleted so that the run's first replica creates it at the start of the
// stream.
type shipperRun struct {
	js   jetstream.JetStream
	sink string
	peer sinkPeer
	cfg  string
	env  []string // the shippers' environment
}

// newShipperRun starts a peer of sink (keyInEnv: see shipperSink.newPeer) and writes the
// shippers' configuration.
func newShipperRun(t testing.TB, ns *testenv.NATSServer, js jetstream.JetStream, sink shipperSink, keyInEnv bool) *shipperRun {
	t.Helper()
	ctx := streamCtx(t)
	err := js.DeleteConsumer(ctx, stream.DefaultName, stream.ConsumerName(sink.name))
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Fatal(err)
	}
	peer := sink.newPeer(t, keyInEnv)
	section, env := peer.section()
	// The shippers beat into the replicas register in this Redis, under the test's prefix.
	rs := testenv.Redis(t)
	path := filepath.Join(t.TempDir(), "auditpipe.toml")
	// The sink's section sets batches of 500. A short ack wait, so that what a killed replica
	// held comes back soon; room for two batches in flight per replica of four (the default
	// max-in-flight, 4000; at 1000, four replicas shared two batches: about 7k events/s
	// against 24k for one replica on two cores). The sink is chosen with --sinks.
	toml := fmt.Sprintf(`%s
[nats]
url = %q

[redis]
addr = %q
key-prefix = %q

[shipper]
ack-wait = "5s"
max-in-flight = 4000

[metrics]
listen = "127.0.0.1:0"
`, section, ns.URL, rs.Addr, rs.Prefix)
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return &shipperRun{js: js, sink: sink.name, peer: peer, cfg: path, env: append(shipperEnv(), env...)}
}

// shipperEnv is the test's environment without what would change the shipper's configuration
// or trust under the test: AUDITPIPE_* variables, DD_API_KEY and DD_SITE, SSL_CERT_FILE and
// SSL_CERT_DIR.
func shipperEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "AUDITPIPE_"), name == config.EnvDatadogAPIKey, name == config.EnvDatadogSite,
			name == "SSL_CERT_FILE", name == "SSL_CERT_DIR":
		default:
			env = append(env, kv)
		}
	}
	return env
}

// shipperProc is a running auditpipe-shipper.
type shipperProc struct {
	*proc
	base string // the health server's URL
}

// start starts auditpipe-shipper as name, serving the run's sink, and waits until its health
// server listens.
func (r *shipperRun) start(t testing.TB, name string) *shipperProc {
	t.Helper()
	addr := make(chan string, 1)
	onLine := func(line string) {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && strings.HasPrefix(rec.Msg, "serving /healthz") {
			addr <- rec.Addr
		}
	}
	p := startProcEnv(t, name, bins(t).shipper, r.env, onLine, "--config", r.cfg, "--sinks", r.sink)
	select {
	case a := <-addr:
		return &shipperProc{proc: p, base: "http://" + a}
	case <-p.done:
		t.Fatalf("%s exited at start:\n%s", name, p.tail(20))
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no health server address logged within 30s", name)
	}
	return nil
}

// metric is the sum of the samples of name with every one of labels, from /metrics.
func (p *shipperProc) metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(p.base + "/metrics")
	if err != nil {
		t.Fatalf("%s /metrics: %v", p.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s /metrics: %d %v", p.name, resp.StatusCode, err)
	}
	return sumSamples(string(body), name, labels...)
}

// stop stops the shipper with SIGTERM and checks that it exits 0 within a few seconds.
func (p *shipperProc) stop(t testing.TB) {
	t.Helper()
	p.signal(syscall.SIGTERM)
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("%s exited with %d after SIGTERM, want 0:\n%s", p.name, code, p.tail(20))
	}
}

// waitDelivered waits until the peer has accepted at least n records, failing early when
// every one of procs has exited.
func (r *shipperRun) waitDelivered(t testing.TB, n int, timeout time.Duration, procs ...*shipperProc) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("%d events at %s", n, r.peer), func() bool {
		running := false
		for _, p := range procs {
			running = running || !p.exited()
		}
		if !running {
			t.Fatalf("every shipper exited, with %d of %d events at %s:\n%s", r.peer.Accepted(), n, r.peer, procs[0].tail(20))
		}
		return r.peer.Accepted() >= n
	})
}

// waitAcked waits until the consumer has delivered every one of the n messages and holds no
// acknowledgement pending: the shippers acknowledged everything.
func (r *shipperRun) waitAcked(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	var info *jetstream.ConsumerInfo
	eventually(t, timeout, "every message acknowledged", func() bool {
		info = r.consumerInfo(t)
		return info.NumPending == 0 && info.NumAckPending == 0 && info.AckFloor.Stream >= uint64(n)
	})
}

func (r *shipperRun) consumerInfo(t testing.TB) *jetstream.ConsumerInfo {
	t.Helper()
	ctx := streamCtx(t)
	c, err := r.js.Consumer(ctx, stream.DefaultName, stream.ConsumerName(r.sink))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// checkEveryID checks that the peer received a record of every event of want (uid → body),
// intact (the same JSON value: byte for byte, or else by sinktest.Key) and with the metadata
// the sink must send (sinkPeer.wantWhere), and nothing else, and that the output of procs
// shows none of the peer's secrets. It returns how many records were repeats.
func (r *shipperRun) checkEveryID(t testing.TB, want map[string]string, procs ...*shipperProc) (duplicates int) {
	t.Helper()
	for _, p := range procs {
		for _, secret := range r.peer.Secrets() {
			if p.logged(secret) {
				t.Errorf("the output of %s shows a secret of %s", p.name, r.peer)
			}
		}
	}
	n := len(want)
	count := make(map[string]int, n)
	var altered, extra, misfiled []string
	records := r.peer.records()
	for _, rec := range records {
		var ev struct {
			UID     string `json:"uid"`
			Type    string `json:"event"`
			Cluster string `json:"cluster_name"`
		}
		if err := json.Unmarshal(rec.body, &ev); err != nil {
			t.Fatalf("%s record %.200s: %v", r.peer, rec.body, err)
		}
		body, ok := want[ev.UID]
		switch wantWhere := r.peer.wantWhere(ev.Type, ev.Cluster); {
		case !ok:
			extra = append(extra, ev.UID)
			continue
		case rec.where != wantWhere:
			misfiled = append(misfiled, fmt.Sprintf("%s with %s, want %s", ev.UID, rec.where, wantWhere))
		case count[ev.UID] == 0 && string(rec.body) != body && sinktest.Key(rec.body) != sinktest.Key([]byte(body)):
			altered = append(altered, ev.UID)
		}
		count[ev.UID]++
	}
	var missing []string
	for id := range want {
		switch c := count[id]; {
		case c == 0:
			missing = append(missing, id)
		case c > 1:
			duplicates += c - 1
		}
	}
	if len(missing)+len(extra)+len(altered)+len(misfiled) > 0 {
		t.Fatalf("%s holds %d records for %d events: %d missing %v, %d unexpected %v, %d altered %v, %d misfiled %v",
			r.peer, len(records), n, len(missing), some(missing), len(extra), some(extra), len(altered), some(altered),
			len(misfiled), some(misfiled))
	}
	return duplicates
}
