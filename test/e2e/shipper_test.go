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
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// shipperEvents is how many events the shipper tests put on the stream.
const shipperEvents = 100_000

// TestShipperDeliversEveryEvent publishes 100,000 events to TELEPORT_EVENTS once, then ships
// them to a strict fake Fluentd (mutual TLS, in_http's parsing) with 1, 2 and 4
// auditpipe-shipper processes sharing the sink-fluentd consumer, and with 2 processes of which
// one is killed with SIGKILL while it holds batches in flight. Each run starts the consumer
// from the start of the stream against a fresh Fluentd, and checks that Fluentd received
// every event id at least once and that the consumer acknowledged every message; duplicates
// (allowed: delivery is at least once) are counted and reported. -short ships 20,000.
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

	for _, replicas := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("%d-replicas", replicas), func(t *testing.T) {
			run := newShipperRun(t, ns, js)
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
			dups := run.checkEveryID(t, want)
			t.Logf("%d replicas shipped %d events in %v (%.0f events/s), %d duplicates at Fluentd; all acked at %v, stopped at %v, checked at %v",
				replicas, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), dups,
				acked.Round(time.Millisecond), stopped.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
		})
	}

	t.Run("replica-killed-mid-batch", func(t *testing.T) {
		run := newShipperRun(t, ns, js)
		// Each POST waits 50 ms at Fluentd, so a replica always has batches out.
		run.peer.SetLatency(50 * time.Millisecond)
		victim := run.start(t, "victim")
		survivor := run.start(t, "survivor")
		eventually(t, time.Minute, "a quarter of the events at Fluentd", func() bool {
			return run.peer.Accepted() >= n/4
		})
		var inFlight float64
		eventually(t, 10*time.Second, "the victim holding a batch in flight", func() bool {
			inFlight = victim.metric(t, "auditpipe_shipper_batches_in_flight", `sink="fluentd"`)
			return inFlight > 0
		})
		victim.signal(syscall.SIGKILL)
		if code := victim.wait(t, 10*time.Second); code != -1 {
			t.Fatalf("the victim exited with %d before SIGKILL ended it", code)
		}
		accepted := run.peer.Accepted()
		if accepted >= n {
			t.Fatal("Fluentd had every event before the kill: nothing was in progress")
		}
		t.Logf("killed the victim holding %v batches, with %d of %d events at Fluentd", inFlight, accepted, n)

		run.waitDelivered(t, n, 2*time.Minute, survivor)
		run.waitAcked(t, n, 30*time.Second)
		survivor.stop(t)
		dups := run.checkEveryID(t, want)
		info := run.consumerInfo(t)
		t.Logf("after the kill: %d deliveries by the consumer for %d messages, %d duplicates at Fluentd",
			info.Delivered.Consumer, n, dups)
		// What the victim held unacknowledged was delivered again, to the survivor.
		if info.Delivered.Consumer <= uint64(n) {
			t.Fatalf("the consumer delivered %d times for %d messages: nothing the victim held was delivered again",
				info.Delivered.Consumer, n)
		}
	})
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

// shipperRun is one run of shippers over the stream: a fresh Fluentd, and the sink-fluentd
// consumer deleted so that the run's first replica creates it at the start of the stream.
type shipperRun struct {
	js   jetstream.JetStream
	peer *fluentdtest.Server
	cfg  string
}

func newShipperRun(t testing.TB, ns *testenv.NATSServer, js jetstream.JetStream) *shipperRun {
	t.Helper()
	ctx := streamCtx(t)
	err := js.DeleteConsumer(ctx, stream.DefaultName, stream.ConsumerName(config.SinkFluentd))
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Fatal(err)
	}
	peer := fluentdtest.New(t)
	f := peer.Config()
	// The shippers beat into the replicas register in this Redis, under the test's prefix.
	rs := testenv.Redis(t)
	path := filepath.Join(t.TempDir(), "auditpipe.toml")
	// Batches of 500; a short ack wait, so that what a killed replica held comes back soon;
	// room for two batches in flight per replica of four (the default max-in-flight, 4000; at
	// 1000, four replicas shared two batches: about 7k events/s against 24k for one replica on
	// two cores).
	toml := fmt.Sprintf(`[forward.fluentd]
url = %q
session-url = %q
ca = %q
cert = %q
key = %q
batch = 500

[nats]
url = %q

[redis]
addr = %q
key-prefix = %q

[shipper]
sinks = ["fluentd"]
ack-wait = "5s"
max-in-flight = 4000

[metrics]
listen = "127.0.0.1:0"
`, f.URL, f.SessionURL, f.CA, f.Cert, f.Key, ns.URL, rs.Addr, rs.Prefix)
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return &shipperRun{js: js, peer: peer, cfg: path}
}

// shipperProc is a running auditpipe-shipper.
type shipperProc struct {
	*proc
	base string // the health server's URL
}

// start starts auditpipe-shipper as name and waits until its health server listens.
func (r *shipperRun) start(t testing.TB, name string) *shipperProc {
	t.Helper()
	addr := make(chan string, 1)
	onLine := func(line string) {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && strings.HasPrefix(rec.Msg, "serving /healthz") {
			addr <- rec.Addr
		}
	}
	p := startProc(t, name, bins(t).shipper, onLine, "--config", r.cfg)
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

// waitDelivered waits until Fluentd has accepted at least n records, failing early when
// every one of procs has exited.
func (r *shipperRun) waitDelivered(t testing.TB, n int, timeout time.Duration, procs ...*shipperProc) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("%d events at Fluentd", n), func() bool {
		running := false
		for _, p := range procs {
			running = running || !p.exited()
		}
		if !running {
			t.Fatalf("every shipper exited, with %d of %d events at Fluentd:\n%s", r.peer.Accepted(), n, procs[0].tail(20))
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
	c, err := r.js.Consumer(ctx, stream.DefaultName, stream.ConsumerName(config.SinkFluentd))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// checkEveryID checks that Fluentd received the record of every event of want (uid → body)
// under the audit tag, intact (the same JSON value: byte for byte, or else by sinktest.Key),
// and nothing else, and returns how many records were repeats.
func (r *shipperRun) checkEveryID(t testing.TB, want map[string]string) (duplicates int) {
	t.Helper()
	n := len(want)
	count := make(map[string]int, n)
	var altered, extra, wrongTag []string
	for _, rec := range r.peer.Records() {
		var id struct{ UID string }
		if err := json.Unmarshal(rec.Body, &id); err != nil {
			t.Fatalf("Fluentd record %s: %v", rec.Body, err)
		}
		body, ok := want[id.UID]
		switch {
		case !ok:
			extra = append(extra, id.UID)
			continue
		case rec.Tag != fluentdtest.AuditTag:
			wrongTag = append(wrongTag, id.UID)
		case count[id.UID] == 0 && string(rec.Body) != body && sinktest.Key(rec.Body) != sinktest.Key([]byte(body)):
			altered = append(altered, id.UID)
		}
		count[id.UID]++
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
	if len(missing)+len(extra)+len(altered)+len(wrongTag) > 0 {
		t.Fatalf("Fluentd holds %d records for %d events: %d missing %v, %d unexpected %v, %d altered %v, %d under another tag %v",
			len(r.peer.Records()), n, len(missing), some(missing), len(extra), some(extra), len(altered), some(altered), len(wrongTag), some(wrongTag))
	}
	return duplicates
}
