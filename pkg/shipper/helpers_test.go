package shipper_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// streamOptions keep the test streams in memory: faster, and gone with the server.
var streamOptions = stream.Options{Storage: jetstream.MemoryStorage}

// env is a NATS server with the streams, and a JetStream handle for the test's own use.
type env struct {
	nats *testenv.NATSServer
	js   jetstream.JetStream
}

func newEnv(t testing.TB, opts ...testenv.NATSOption) *env {
	t.Helper()
	ns := testenv.NATS(t, opts...)
	js := connect(t, ns)
	if err := stream.Ensure(testCtx(t), js, streamOptions); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return &env{nats: ns, js: js}
}

// connect opens a connection of its own (one per replica, as separate processes have),
// closed at cleanup.
func connect(t testing.TB, ns *testenv.NATSServer) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(ns.Conn(t))
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return js
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// testLogger logs warnings and errors to the test's output, shown when it fails or with -v.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// auditEvents returns n audit events with uids sinktest-audit-<from> to -<from+n-1>.
func auditEvents(from, n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = sinktest.AuditEvent(from + i)
	}
	return evs
}

// publish puts events on the stream, in pages, and waits for every PubAck.
func (e *env) publish(t testing.TB, events []event.Event) {
	t.Helper()
	p, err := stream.NewPublisher(testCtx(t), e.js, stream.PublisherOptions{Stream: streamOptions})
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	const page = 1000
	for i := 0; i < len(events); i += page {
		if _, err := p.PublishPage(testCtx(t), events[i:min(i+page, len(events))], event.Replay{}); err != nil {
			t.Fatalf("PublishPage: %v", err)
		}
	}
}

// testConfig is a Config for tests: short waits everywhere.
func testConfig() shipper.Config {
	return shipper.Config{
		Stream:          streamOptions,
		AckWait:         5 * time.Second,
		MaxDeliver:      20,
		MaxInFlight:     1000,
		RetryInitial:    20 * time.Millisecond,
		RetryMax:        200 * time.Millisecond,
		BlockedRetryMax: 200 * time.Millisecond,
		DrainTimeout:    5 * time.Second,
		InfoInterval:    100 * time.Millisecond,
	}
}

// replica is one running engine.
type replica struct {
	engine *shipper.Engine
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned err
	err    error
}

// start runs an engine on a connection of its own until stop or the test's end.
func start(t testing.TB, e *env, cfg shipper.Config, targets ...shipper.Target) *replica {
	t.Helper()
	return startOn(t, connect(t, e.nats), cfg, targets...)
}

func startOn(t testing.TB, js jetstream.JetStream, cfg shipper.Config, targets ...shipper.Target) *replica {
	t.Helper()
	reg := prometheus.NewRegistry()
	eng, err := shipper.New(cfg, targets, shipper.Deps{JetStream: js, Registerer: reg, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("shipper.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{engine: eng, reg: reg, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = eng.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() { r.stop(t) })
	// One replica after the other: nats-server 2.12.1 races (go test -race) on concurrent
	// updates of one stream, which every replica's Ensure makes at start.
	eventually(t, 30*time.Second, "engine running", func() bool {
		select {
		case <-r.done:
			t.Fatalf("Run returned at start: %v", r.err)
		default:
		}
		return eng.Status()[0].Running
	})
	return r
}

// stop cancels the engine and returns what Run returned; it may be called again.
func (r *replica) stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	return r.wait(t, time.Minute)
}

// wait returns what Run returned, failing the test when it has not returned within d.
func (r *replica) wait(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(d):
		t.Fatalf("Run did not return within %v", d)
		return nil
	}
}

// metric returns the value of the gauge or counter name whose labels include the given
// name/value pairs (sink first), or -1 when there is none.
func (r *replica) metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	families, err := r.reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			if m.Gauge != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

// fluentdSink builds a fluentd sink for cfg.
func fluentdSink(t testing.TB, cfg config.Fluentd) *fluentd.Sink {
	t.Helper()
	s, err := fluentd.New(cfg, fluentd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("fluentd.New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// eventually polls cond every 20 ms until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// uids counts each uid among received event bodies.
func uids(t testing.TB, bodies []json.RawMessage) map[string]int {
	t.Helper()
	out := make(map[string]int, len(bodies))
	for _, b := range bodies {
		var f struct {
			UID string `json:"uid"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("received body is not JSON: %v", err)
		}
		out[f.UID]++
	}
	return out
}

// checkEvery checks that every event of events was received at least once and returns how
// many were received more than once.
func checkEvery(t testing.TB, events []event.Event, got map[string]int) (duplicates int) {
	t.Helper()
	missing := 0
	for _, ev := range events {
		switch n := got[ev.UID]; {
		case n == 0:
			if missing < 5 {
				t.Errorf("event %s never delivered", ev.UID)
			}
			missing++
		case n > 1:
			duplicates += n - 1
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d events never delivered", missing, len(events))
	}
	return duplicates
}

// consumerInfo returns the sink's consumer info.
func (e *env) consumerInfo(t testing.TB, sinkName string) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := e.js.Consumer(testCtx(t), stream.DefaultName, stream.ConsumerName(sinkName))
	if err != nil {
		t.Fatalf("consumer %s: %v", sinkName, err)
	}
	info, err := c.Info(testCtx(t))
	if err != nil {
		t.Fatalf("consumer info: %v", err)
	}
	return info
}

// deadLetters lists the sink's dead letters.
func (e *env) deadLetters(t testing.TB, sinkName string) []stream.Entry {
	t.Helper()
	q, err := stream.NewDLQ(testCtx(t), e.js, streamOptions)
	if err != nil {
		t.Fatalf("NewDLQ: %v", err)
	}
	page, err := q.List(testCtx(t), stream.ListOptions{Sink: sinkName, Limit: 1000})
	if err != nil {
		t.Fatalf("DLQ List: %v", err)
	}
	return page.Entries
}

// publishRaw publishes a message that is not an event as ingest writes it.
func (e *env) publishRaw(t testing.TB, subject string, h nats.Header, body []byte) {
	t.Helper()
	if _, err := e.js.PublishMsg(testCtx(t), &nats.Msg{Subject: subject, Header: h, Data: body}); err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
}

// funcSink is a sink whose Deliver is a function, for tests that need a sink to hang or
// count.
type funcSink struct {
	name    string
	deliver func(ctx context.Context, batch []event.Event) []sink.Result
}

func (s funcSink) Name() string { return s.name }
func (s funcSink) Deliver(ctx context.Context, batch []event.Event) []sink.Result {
	return s.deliver(ctx, batch)
}

// errTimeout is what a waiting helper returns when its wait ran out.
var errTimeout = errors.New("timeout")

// within waits for ch or d.
func within[T any](ch <-chan T, d time.Duration) (T, error) {
	select {
	case v := <-ch:
		return v, nil
	case <-time.After(d):
		var zero T
		return zero, fmt.Errorf("%w after %v", errTimeout, d)
	}
}
