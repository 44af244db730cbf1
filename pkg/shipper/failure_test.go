package shipper_test

import (
	"context"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/datadog"
	"github.com/auditpipe/auditpipe/pkg/sink/datadog/datadogtest"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

// TestReplicaDiesMidBatch: a replica holds batches in a hanging Deliver when its connection
// drops (no ack, nak or InProgress any more, as after SIGKILL); another replica delivers them
// once the ack wait has passed.
func TestReplicaDiesMidBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	peer := fluentdtest.New(t)
	events := auditEvents(0, 300)
	e.publish(t, events)
	cfg := testConfig()
	cfg.AckWait = time.Second
	cfg.DrainTimeout = 200 * time.Millisecond

	entered := make(chan struct{})
	var once sync.Once
	hang := funcSink{name: "fluentd", deliver: func(ctx context.Context, batch []event.Event) []sink.Result {
		once.Do(func() { close(entered) })
		<-ctx.Done()
		return sink.All(len(batch), sink.Result{Outcome: sink.Retry, Reason: "hung"})
	}}
	js := connect(t, e.nats)
	doomed := startOn(t, js, cfg, shipper.Target{Sink: hang, Batch: 100})
	if _, err := within(entered, 10*time.Second); err != nil {
		t.Fatalf("the doomed replica never delivered: %v", err)
	}
	eventually(t, 10*time.Second, "the doomed replica holds every event", func() bool {
		return e.consumerInfo(t, "fluentd").NumAckPending == len(events)
	})
	js.Conn().Close() // the replica dies: nothing more reaches NATS from it
	died := time.Now()

	start(t, e, cfg, shipper.Target{Sink: fluentdSink(t, peer.Config()), Batch: 100})
	eventually(t, 30*time.Second, "every event delivered by the survivor", func() bool { return peer.Accepted() >= len(events) })
	if took := time.Since(died); took < cfg.AckWait/2 {
		t.Errorf("the survivor delivered the held events %v after the death, before the ack wait %v", took, cfg.AckWait)
	}
	if dups := checkEvery(t, events, uids(t, peer.Received())); dups != 0 {
		t.Errorf("%d duplicates: only the survivor delivered", dups)
	}
	if err := doomed.wait(t, 10*time.Second); err == nil {
		t.Error("the doomed replica's Run returned nil after its connection closed; want an error")
	}
}

// TestTransientFailures: 30% of Fluentd's answers are 503s or connection resets; every event
// arrives anyway, and none is dead-lettered.
func TestTransientFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	peer := fluentdtest.New(t)
	peer.SetFailureRate(0.3, sinktest.Transient, sinktest.Reset)
	events := auditEvents(0, 3000)
	e.publish(t, events)
	for range 2 {
		start(t, e, testConfig(), shipper.Target{Sink: fluentdSink(t, peer.Config()), Batch: 50})
	}
	eventually(t, 50*time.Second, "every event delivered", func() bool { return peer.Accepted() >= len(events) })
	dups := checkEvery(t, events, uids(t, peer.Received()))
	t.Logf("%d requests for %d events, %d duplicates", peer.Requests(), len(events), dups)
	if n := len(e.deadLetters(t, "fluentd")); n != 0 {
		t.Errorf("%d dead letters; want none", n)
	}
	eventually(t, 10*time.Second, "every event acked", func() bool { return e.consumerInfo(t, "fluentd").NumAckPending == 0 })
}

// requestTimes records when each request to the intake was sent.
type requestTimes struct {
	mu    sync.Mutex
	times []time.Time
	next  http.RoundTripper
}

func (rt *requestTimes) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.times = append(rt.times, time.Now())
	rt.mu.Unlock()
	return rt.next.RoundTrip(r)
}

func (rt *requestTimes) all() []time.Time {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]time.Time(nil), rt.times...)
}

// TestRetryAfter: Datadog answers 429 with Retry-After: 2; the events come back no sooner.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	intake := datadogtest.New(t)
	intake.FailNext(1, datadogtest.Failure{Status: http.StatusTooManyRequests, RetryAfter: "2"})
	times := &requestTimes{next: http.DefaultTransport}
	dd, err := datadog.New(intake.Config(t), datadog.WithHTTPClient(&http.Client{Transport: times}), datadog.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatalf("datadog.New: %v", err)
	}
	events := auditEvents(0, 50)
	e.publish(t, events)
	start(t, e, testConfig(), shipper.Target{Sink: dd, Batch: 100})
	eventually(t, 20*time.Second, "every event delivered", func() bool { return intake.Accepted() >= len(events) })
	got := times.all()
	if len(got) < 2 {
		t.Fatalf("%d requests; want the 429 and at least one more", len(got))
	}
	if gap := got[1].Sub(got[0]); gap < 1900*time.Millisecond {
		t.Errorf("second request %v after the 429; want at least the 2s of Retry-After", gap)
	}
	checkEvery(t, events, uids(t, intake.Received()))
	if n := len(e.deadLetters(t, "datadog")); n != 0 {
		t.Errorf("%d dead letters; want none", n)
	}
}

// TestBlockedSink: Datadog refuses the API key (401). The datadog sink's progress stops: no
// event is acked, dead-lettered or redelivered, the metric and Ready say so; once the key
// file holds the right key, every event is delivered.
func TestBlockedSink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	intake := datadogtest.New(t)
	ddCfg := intake.Config(t)
	if err := os.WriteFile(ddCfg.APIKeyFile, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dd, err := datadog.New(ddCfg, datadog.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatalf("datadog.New: %v", err)
	}
	events := auditEvents(0, 30)
	e.publish(t, events)
	r := start(t, e, testConfig(), shipper.Target{Sink: dd, Batch: 100})

	eventually(t, 10*time.Second, "the sink reported blocked", func() bool {
		return r.metric(t, "auditpipe_shipper_sink_blocked", "sink", "datadog") == 1
	})
	if err := r.engine.Ready("datadog"); err == nil {
		t.Error("Ready(datadog) = nil while blocked")
	}
	before := len(intake.Requests())
	eventually(t, 10*time.Second, "the held batch is tried again", func() bool { return len(intake.Requests()) >= before+3 })
	info := e.consumerInfo(t, "datadog")
	if info.NumAckPending != len(events) || info.NumRedelivered != 0 || info.NumPending != 0 {
		t.Errorf("consumer while blocked: %d ack pending, %d redelivered, %d pending; want %d, 0, 0 (held, no attempt used)",
			info.NumAckPending, info.NumRedelivered, info.NumPending, len(events))
	}
	if n := intake.Accepted(); n != 0 {
		t.Errorf("intake accepted %d items with a wrong key", n)
	}
	if n := len(e.deadLetters(t, "datadog")); n != 0 {
		t.Errorf("%d dead letters while blocked; want none", n)
	}

	// The operator fixes the key file; the sink reads it again while blocked.
	if err := os.WriteFile(ddCfg.APIKeyFile, []byte(intake.APIKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "every event delivered after the fix", func() bool { return intake.Accepted() >= len(events) })
	if dups := checkEvery(t, events, uids(t, intake.Received())); dups != 0 {
		t.Errorf("%d duplicates", dups)
	}
	eventually(t, 5*time.Second, "unblocked", func() bool {
		return r.metric(t, "auditpipe_shipper_sink_blocked", "sink", "datadog") == 0 && r.engine.Ready("datadog") == nil
	})
	eventually(t, 5*time.Second, "every event acked", func() bool { return e.consumerInfo(t, "datadog").NumAckPending == 0 })
}

// TestSlowSinkKeptInProgress: a Deliver that takes longer than the ack wait does not make
// JetStream deliver the batch again: InProgress keeps it.
func TestSlowSinkKeptInProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	events := auditEvents(0, 200)
	e.publish(t, events)
	cfg := testConfig()
	cfg.AckWait = time.Second
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		done atomic.Int64
	)
	slow := funcSink{name: "fluentd", deliver: func(ctx context.Context, batch []event.Event) []sink.Result {
		mu.Lock()
		for _, ev := range batch {
			seen[ev.UID]++
		}
		mu.Unlock()
		select {
		case <-time.After(2500 * time.Millisecond):
		case <-ctx.Done():
			return sink.All(len(batch), sink.Result{Outcome: sink.Retry, Reason: ctx.Err().Error()})
		}
		done.Add(int64(len(batch)))
		return sink.All(len(batch), sink.Result{Outcome: sink.Delivered})
	}}
	start(t, e, cfg, shipper.Target{Sink: slow, Batch: 100})
	eventually(t, 20*time.Second, "every event delivered", func() bool { return done.Load() >= int64(len(events)) })
	mu.Lock()
	defer mu.Unlock()
	for _, ev := range events {
		if n := seen[ev.UID]; n != 1 {
			t.Errorf("event %s handed to the sink %d times; want once", ev.UID, n)
		}
	}
}

// TestBlockedThenTransient: a blocked sink whose next answer is a plain Retry (a 503 once the
// key is fixed) is no longer blocked: its events are naked, pulled again and delivered.
func TestBlockedThenTransient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	events := auditEvents(0, 20)
	e.publish(t, events)
	var calls atomic.Int64
	var delivered atomic.Int64
	flaky := funcSink{name: "fluentd", deliver: func(_ context.Context, batch []event.Event) []sink.Result {
		switch calls.Add(1) {
		case 1:
			return sink.All(len(batch), sink.Result{Outcome: sink.Retry, Blocked: true, Reason: "403"})
		case 2:
			return sink.All(len(batch), sink.Result{Outcome: sink.Retry, Reason: "503"})
		}
		delivered.Add(int64(len(batch)))
		return sink.All(len(batch), sink.Result{Outcome: sink.Delivered})
	}}
	r := start(t, e, testConfig(), shipper.Target{Sink: flaky, Batch: 100})
	eventually(t, 10*time.Second, "every event delivered", func() bool { return delivered.Load() >= int64(len(events)) })
	if err := r.engine.Ready("fluentd"); err != nil {
		t.Errorf("Ready = %v after deliveries resumed", err)
	}
}

// TestConsumerDeleted: an operator deletes the sink's consumer; the replica creates it again
// and ships what the stream holds.
func TestConsumerDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	peer := fluentdtest.New(t)
	first := auditEvents(0, 10)
	e.publish(t, first)
	start(t, e, testConfig(), shipper.Target{Sink: fluentdSink(t, peer.Config()), Batch: 100})
	eventually(t, 10*time.Second, "the first events delivered", func() bool { return peer.Accepted() >= len(first) })
	if err := e.js.DeleteConsumer(testCtx(t), stream.DefaultName, stream.ConsumerName("fluentd")); err != nil {
		t.Fatalf("DeleteConsumer: %v", err)
	}
	more := auditEvents(10, 10)
	e.publish(t, more)
	// The new consumer starts at the oldest event again: the first ten come twice.
	eventually(t, 20*time.Second, "the later events delivered", func() bool { return peer.Accepted() >= 2*len(first)+len(more) })
	checkEvery(t, append(first, more...), uids(t, peer.Received()))
}

// recreateFails is a JetStream whose consumer creations fail while failing is set, as
// CreateOrUpdateConsumer does ("consumer does not exist") while the server is still deleting
// the consumer an operator deleted.
type recreateFails struct {
	jetstream.JetStream
	failing  atomic.Bool
	refusals atomic.Int64
}

func (j *recreateFails) CreateOrUpdateConsumer(ctx context.Context, s string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	if j.failing.Load() {
		j.refusals.Add(1)
		return nil, jetstream.ErrConsumerDoesNotExist
	}
	return j.JetStream.CreateOrUpdateConsumer(ctx, s, cfg)
}

// TestConsumerDeletedRecreateFails: when creating the deleted consumer again fails at first,
// the replica keeps trying (pulls from the deleted consumer's handle find no responders, never
// the deletion again) and ships once it succeeds. It was a CI-load flake of
// TestConsumerDeleted: the server refused the first re-creation, and the sink stalled.
func TestConsumerDeletedRecreateFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	peer := fluentdtest.New(t)
	first := auditEvents(0, 10)
	e.publish(t, first)
	js := &recreateFails{JetStream: connect(t, e.nats)}
	startOn(t, js, testConfig(), shipper.Target{Sink: fluentdSink(t, peer.Config()), Batch: 100})
	eventually(t, 10*time.Second, "the first events delivered", func() bool { return peer.Accepted() >= len(first) })

	js.failing.Store(true)
	if err := e.js.DeleteConsumer(testCtx(t), stream.DefaultName, stream.ConsumerName("fluentd")); err != nil {
		t.Fatalf("DeleteConsumer: %v", err)
	}
	eventually(t, 10*time.Second, "two refused re-creations", func() bool { return js.refusals.Load() >= 2 })
	js.failing.Store(false)
	more := auditEvents(10, 10)
	e.publish(t, more)
	// The new consumer starts at the oldest event again: the first ten come twice.
	eventually(t, 20*time.Second, "the later events delivered", func() bool { return peer.Accepted() >= 2*len(first)+len(more) })
	checkEvery(t, append(first, more...), uids(t, peer.Received()))
}
