package stream_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

// TestOptionsFromConfig: the [nats] section maps to stream options as docs/config.md says,
// nats.max-age = 0 included (no age limit, not the package's 7-day default), and Ensure makes
// JetStream keep events that long.
func TestOptionsFromConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		change     func(*config.NATS)
		wantMaxAge time.Duration // in the options
		wantJS     time.Duration // the stream's MaxAge in JetStream (0: no limit)
	}{
		{name: "defaults", change: func(*config.NATS) {}, wantMaxAge: 168 * time.Hour, wantJS: 168 * time.Hour},
		{name: "max-age 0 is no age limit", change: func(n *config.NATS) { n.MaxAge = 0 }, wantMaxAge: -1, wantJS: 0},
		{name: "max-age 3h", change: func(n *config.NATS) { n.MaxAge, n.DuplicateWindow = 3*time.Hour, time.Hour }, wantMaxAge: 3 * time.Hour, wantJS: 3 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := config.Default().NATS
			n.Stream, n.MaxBytes = "EVENTS_X", 1<<30
			tt.change(&n)
			o := stream.OptionsFromConfig(n)
			if o.Name != "EVENTS_X" || o.Replicas != 1 || o.MaxAge != tt.wantMaxAge || o.MaxBytes != 1<<30 || o.DuplicateWindow != n.DuplicateWindow {
				t.Fatalf("OptionsFromConfig(%+v) = %+v; want MaxAge %v and the section's other values", n, o, tt.wantMaxAge)
			}
			o.Storage = jetstream.MemoryStorage
			e := newEnv(t, o)
			if got := e.streamInfo(t, "EVENTS_X").Config.MaxAge; got != tt.wantJS {
				t.Errorf("stream MaxAge %v; want %v", got, tt.wantJS)
			}
		})
	}
}

// TestDLQRedriveOfReplay: a dead letter of a replay restricted to some sinks keeps their list
// when redriven to every sink, and loses it when redriven to one sink, which would otherwise
// skip the event it was sent.
func TestDLQRedriveOfReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Options{})
	ctx := testCtx(t)
	consumers := map[string]jetstream.Consumer{}
	for _, sink := range []string{"fluentd", "datadog"} {
		c, err := stream.EnsureConsumer(ctx, e.js, stream.DefaultName, sink, stream.ConsumerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		consumers[sink] = c
	}
	replay := event.Replay{ID: "r1", Sinks: []string{"fluentd"}}
	events := []event.Event{auditEvent(t, "u-1", "user.login", 10), auditEvent(t, "u-2", "user.login", 10)}
	if _, err := newPublisher(t, e.js, stream.PublisherOptions{}).PublishPage(ctx, events, replay); err != nil {
		t.Fatal(err)
	}
	// Fluentd dead-letters both; Datadog skips them (the replay is not for it).
	q := newDLQ(t, e)
	var seqs []uint64
	for range events {
		m := fetch(t, consumers["fluentd"], 5*time.Second)
		if !event.ForSink(m.Headers(), "fluentd") || event.ForSink(m.Headers(), "datadog") {
			t.Fatalf("published headers %v; want a replay for fluentd only", m.Headers())
		}
		seq, err := q.Put(ctx, deadLetter(t, "fluentd", m))
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
		if err := m.Term(); err != nil {
			t.Fatal(err)
		}
	}
	for range events {
		if err := fetch(t, consumers["datadog"], 5*time.Second).DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// To datadog alone: the sink list goes, the replay id stays.
	if _, err := q.Redrive(ctx, seqs[0], stream.RedriveOptions{Sink: "datadog"}); err != nil {
		t.Fatal(err)
	}
	got := fetch(t, consumers["datadog"], 5*time.Second)
	if got == nil {
		t.Fatal("datadog did not receive the event redriven to it")
	}
	if h := got.Headers(); h.Get(event.HeaderReplaySinks) != "" || !event.ForSink(h, "datadog") || h.Get(event.HeaderReplayID) != "r1" {
		t.Errorf("redriven to datadog with headers %v; want the replay id without a sink list", h)
	}
	// To every sink: the replay's sink list stays.
	if _, err := q.Redrive(ctx, seqs[1], stream.RedriveOptions{AllSinks: true}); err != nil {
		t.Fatal(err)
	}
	got = fetch(t, consumers["fluentd"], 5*time.Second)
	if got == nil {
		t.Fatal("fluentd did not receive the event redriven to every sink")
	}
	if h := got.Headers(); h.Get(event.HeaderReplaySinks) != "fluentd" {
		t.Errorf("redriven to every sink with headers %v; want the replay's sink list kept", h)
	}
}
