package shipper_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

// recorder is a sink that accepts everything and records the uids it was given.
type recorder struct {
	name string
	mu   sync.Mutex
	uids map[string]int
}

func newRecorder(name string) *recorder { return &recorder{name: name, uids: map[string]int{}} }

func (r *recorder) Name() string { return r.name }

func (r *recorder) Deliver(_ context.Context, batch []event.Event) []sink.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range batch {
		r.uids[ev.UID]++
	}
	return sink.All(len(batch), sink.Result{Outcome: sink.Delivered})
}

func (r *recorder) received() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.uids))
	for k, v := range r.uids {
		out[k] = v
	}
	return out
}

// TestReplayForOtherSinks: a replay published for sinks=[datadog] is acked without delivery
// by the fluentd target (counted as skipped, never dead-lettered) and delivered by the datadog
// target; the ordinary export and a replay to every sink reach both.
func TestReplayForOtherSinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ordinary, forDatadog, forAll := auditEvents(0, 30), auditEvents(100, 40), auditEvents(200, 20)
	p, err := stream.NewPublisher(testCtx(t), e.js, stream.PublisherOptions{Stream: streamOptions})
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []struct {
		events []event.Event
		replay event.Replay
	}{
		{ordinary, event.Replay{}},
		{forDatadog, event.Replay{ID: "r1", Sinks: []string{"datadog"}}},
		{forAll, event.Replay{ID: "r2"}},
	} {
		if _, err := p.PublishPage(testCtx(t), page.events, page.replay); err != nil {
			t.Fatal(err)
		}
	}

	fluentd, datadog := newRecorder("fluentd"), newRecorder("datadog")
	// Each sink on a replica of its own, as with --sinks fluentd and --sinks datadog.
	rf := start(t, e, testConfig(), shipper.Target{Sink: fluentd, Batch: 7})
	rd := start(t, e, testConfig(), shipper.Target{Sink: datadog, Batch: 7})
	for _, sinkName := range []string{"fluentd", "datadog"} {
		eventually(t, 30*time.Second, sinkName+" consumer drained", func() bool {
			info := e.consumerInfo(t, sinkName)
			return info.NumPending == 0 && info.NumAckPending == 0
		})
	}

	want := map[*recorder][]event.Event{
		fluentd: append(append([]event.Event{}, ordinary...), forAll...),
		datadog: append(append(append([]event.Event{}, ordinary...), forDatadog...), forAll...),
	}
	// A consumer drains when JetStream has the acks; the replica counts the acked events (in
	// Status and the skipped metric) only once its acks have returned, a moment later. Wait
	// for the counts to cover every event, then check them exactly: none may be counted twice.
	eventually(t, 10*time.Second, "the replicas counted every event they acked", func() bool {
		f, d := rf.engine.Status()[0], rd.engine.Status()[0]
		return f.Delivered+f.Skipped >= uint64(len(want[fluentd])+len(forDatadog)) &&
			d.Delivered+d.Skipped >= uint64(len(want[datadog])) &&
			rf.metric(t, "auditpipe_shipper_skipped_total", "sink", "fluentd", "reason", "replay_other_sink") >= float64(len(forDatadog))
	})
	for rec, events := range want {
		got := rec.received()
		if dups := checkEvery(t, events, got); dups > 0 {
			t.Errorf("%s: %d duplicates", rec.name, dups)
		}
		if len(got) != len(events) {
			t.Errorf("%s received %d events; want %d", rec.name, len(got), len(events))
		}
	}
	for _, ev := range forDatadog {
		if n := fluentd.received()[ev.UID]; n != 0 {
			t.Errorf("fluentd received %s of the replay for datadog %d times", ev.UID, n)
		}
	}

	if got := rf.metric(t, "auditpipe_shipper_skipped_total", "sink", "fluentd", "reason", "replay_other_sink"); got != float64(len(forDatadog)) {
		t.Errorf("fluentd skipped_total = %v; want %d", got, len(forDatadog))
	}
	if got := rd.metric(t, "auditpipe_shipper_skipped_total", "sink", "datadog", "reason", "replay_other_sink"); got > 0 {
		t.Errorf("datadog skipped_total = %v; want 0", got)
	}
	if st := rf.engine.Status()[0]; st.Skipped != uint64(len(forDatadog)) || st.Delivered != uint64(len(want[fluentd])) || st.DeadLettered != 0 {
		t.Errorf("fluentd status %+v; want %d skipped, %d delivered, none dead-lettered", st, len(forDatadog), len(want[fluentd]))
	}
	if st := rd.engine.Status()[0]; st.Skipped != 0 || st.Delivered != uint64(len(want[datadog])) {
		t.Errorf("datadog status %+v; want none skipped, %d delivered", st, len(want[datadog]))
	}
	for _, sinkName := range []string{"fluentd", "datadog"} {
		if dl := e.deadLetters(t, sinkName); len(dl) != 0 {
			t.Errorf("%s dead-lettered %d events", sinkName, len(dl))
		}
	}
}

// TestStreamOptionsSameAsIngest: ingest and shipper map the [nats] section to the same stream
// options, so that their replicas, which all call stream.Ensure, never flip its limits.
func TestStreamOptionsSameAsIngest(t *testing.T) {
	t.Parallel()
	for name, change := range map[string]func(*config.Config){
		"defaults":           func(*config.Config) {},
		"max-age 0":          func(c *config.Config) { c.NATS.MaxAge = 0 },
		"max-age 3h":         func(c *config.Config) { c.NATS.MaxAge, c.NATS.DuplicateWindow = 3*time.Hour, time.Hour },
		"max-bytes and name": func(c *config.Config) { c.NATS.MaxBytes, c.NATS.Stream = 10<<30, "AUDIT" },
		"replicas 3":         func(c *config.Config) { c.NATS.Replicas = 3 },
		"duplicate window":   func(c *config.Config) { c.NATS.DuplicateWindow = 6 * time.Hour },
	} {
		c := config.Default()
		change(c)
		in, sh := ingest.FromConfig(c, "pod-1").Stream, shipper.FromConfig(c).Stream
		if in != sh {
			t.Errorf("%s: ingest's stream options %+v, shipper's %+v", name, in, sh)
		}
		if in != stream.OptionsFromConfig(c.NATS) {
			t.Errorf("%s: ingest's stream options %+v are not stream.OptionsFromConfig's", name, in)
		}
	}
}
