package shipper_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
)

// entering wraps s so that the first Deliver closes the returned channel.
func entering(s sink.Sink) (sink.Sink, <-chan struct{}) {
	entered := make(chan struct{})
	var once sync.Once
	return funcSink{name: s.Name(), deliver: func(ctx context.Context, batch []event.Event) []sink.Result {
		once.Do(func() { close(entered) })
		return s.Deliver(ctx, batch)
	}}, entered
}

// TestStopFinishesBatchInHand: stopped while Fluentd is answering slowly, the replica finishes
// the batch in hand, acks it and returns nil.
func TestStopFinishesBatchInHand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	peer := fluentdtest.New(t)
	peer.SetLatency(time.Second)
	events := auditEvents(0, 100)
	e.publish(t, events)
	s, entered := entering(fluentdSink(t, peer.Config()))
	r := start(t, e, testConfig(), shipper.Target{Sink: s, Batch: 100})
	if _, err := within(entered, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Run after a stop = %v; want nil", err)
	}
	if n := peer.Accepted(); n != len(events) {
		t.Errorf("Fluentd accepted %d events by the time Run returned; want the whole batch, %d", n, len(events))
	}
	info := e.consumerInfo(t, "fluentd")
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("after the stop: %d ack pending, %d pending; want the batch acked", info.NumAckPending, info.NumPending)
	}
}

// TestStopNaksAfterDrainTimeout: a batch still in a hanging Deliver when the drain timeout
// passes is naked, so another replica delivers it at once, long before the ack wait.
func TestStopNaksAfterDrainTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	peer := fluentdtest.New(t)
	events := auditEvents(0, 50)
	e.publish(t, events)
	cfg := testConfig()
	cfg.AckWait = time.Minute
	cfg.DrainTimeout = 300 * time.Millisecond
	hang, entered := entering(funcSink{name: "fluentd", deliver: func(ctx context.Context, batch []event.Event) []sink.Result {
		<-ctx.Done()
		return sink.All(len(batch), sink.Result{Outcome: sink.Retry, Reason: "not sent: " + ctx.Err().Error()})
	}})
	r := start(t, e, cfg, shipper.Target{Sink: hang, Batch: 100})
	if _, err := within(entered, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := r.stop(t); err != nil {
		t.Fatalf("Run after a stop = %v; want nil", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("Run took %v to return; want about the drain timeout, %v", took, cfg.DrainTimeout)
	}
	start(t, e, cfg, shipper.Target{Sink: fluentdSink(t, peer.Config()), Batch: 100})
	eventually(t, 10*time.Second, "the naked batch delivered by the next replica", func() bool { return peer.Accepted() >= len(events) })
	checkEvery(t, events, uids(t, peer.Received()))
}

// TestRunStoppedDuringSetUp: a stop before the consumers exist ends Run with nil; a second Run
// is refused.
func TestRunStoppedDuringSetUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	eng, err := shipper.New(testConfig(), []shipper.Target{{Sink: fluentdSink(t, fluentdtest.New(t).Config()), Batch: 10}},
		shipper.Deps{JetStream: e.js, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := eng.Run(ctx); err != nil {
		t.Errorf("Run(cancelled ctx) = %v; want nil", err)
	}
	if err := eng.Run(context.Background()); err == nil {
		t.Error("a second Run = nil; want an error")
	}
	if err := eng.Ready("fluentd"); !errors.Is(err, shipper.ErrNotReady) {
		t.Errorf("Ready after Run = %v; want ErrNotReady", err)
	}
}
