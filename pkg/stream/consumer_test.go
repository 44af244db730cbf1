package stream_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/stream"
)

func TestConsumerConfig(t *testing.T) {
	t.Parallel()
	events := []string{stream.SubjectAudit, stream.SubjectSession}
	tests := []struct {
		name    string
		sink    string
		given   stream.ConsumerOptions
		want    jetstream.ConsumerConfig // only the fields compared below
		wantErr bool
	}{
		{
			name: "defaults", sink: "fluentd",
			want: jetstream.ConsumerConfig{
				Durable: "sink-fluentd", AckWait: stream.DefaultAckWait, BackOff: stream.DefaultBackOff(),
				MaxDeliver: stream.DefaultMaxDeliver, MaxAckPending: stream.DefaultMaxAckPending,
				FilterSubjects: append(events, "teleport.redrive.fluentd.>"),
			},
		},
		{
			name: "ack wait only: no backoff", sink: "datadog", given: stream.ConsumerOptions{AckWait: time.Minute, MaxDeliver: -1, MaxAckPending: 50},
			want: jetstream.ConsumerConfig{
				Durable: "sink-datadog", AckWait: time.Minute, MaxDeliver: -1, MaxAckPending: 50,
				FilterSubjects: append(events, "teleport.redrive.datadog.>"),
			},
		},
		{
			name: "backoff only: ack wait is its first value", sink: "lock",
			given: stream.ConsumerOptions{BackOff: []time.Duration{time.Second, 10 * time.Second}, Subjects: []string{"teleport.audit.user.login"}},
			want: jetstream.ConsumerConfig{
				Durable: "sink-lock", AckWait: time.Second, BackOff: []time.Duration{time.Second, 10 * time.Second},
				MaxDeliver: stream.DefaultMaxDeliver, MaxAckPending: stream.DefaultMaxAckPending,
				FilterSubjects: []string{"teleport.audit.user.login", "teleport.redrive.lock.>"},
			},
		},
		{name: "backoff disagrees with ack wait", sink: "x", given: stream.ConsumerOptions{AckWait: time.Second, BackOff: []time.Duration{time.Minute}}, wantErr: true},
		{name: "more backoff than deliveries", sink: "x", given: stream.ConsumerOptions{MaxDeliver: 2, BackOff: []time.Duration{1, 2, 3}}, wantErr: true},
		{name: "zero backoff value", sink: "x", given: stream.ConsumerOptions{BackOff: []time.Duration{time.Second, 0}}, wantErr: true},
		{name: "negative max ack pending", sink: "x", given: stream.ConsumerOptions{MaxAckPending: -1}, wantErr: true},
		{name: "sink with a dot", sink: "a.b", wantErr: true},
		{name: "empty sink", sink: "", wantErr: true},
		{name: "subject outside the events", sink: "x", given: stream.ConsumerOptions{Subjects: []string{"dlq.>"}}, wantErr: true},
		{name: "another sink's redrive subject", sink: "x", given: stream.ConsumerOptions{Subjects: []string{"teleport.redrive.y.>"}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := stream.ConsumerConfig(tt.sink, tt.given)
			if tt.wantErr {
				if !errors.Is(err, stream.ErrInvalidOptions) {
					t.Fatalf("ConsumerConfig = %+v, %v; want ErrInvalidOptions", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ConsumerConfig: %v", err)
			}
			if got.Durable != tt.want.Durable || got.AckWait != tt.want.AckWait || !slices.Equal(got.BackOff, tt.want.BackOff) ||
				got.MaxDeliver != tt.want.MaxDeliver || got.MaxAckPending != tt.want.MaxAckPending ||
				!slices.Equal(got.FilterSubjects, tt.want.FilterSubjects) {
				t.Errorf("ConsumerConfig =\n%+v\nwant\n%+v", got, tt.want)
			}
			if got.AckPolicy != jetstream.AckExplicitPolicy || got.DeliverPolicy != jetstream.DeliverAllPolicy {
				t.Errorf("ack/deliver policy = %v/%v; want explicit/all", got.AckPolicy, got.DeliverPolicy)
			}
		})
	}
}

func TestEnsureConsumer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Options{})
	ctx := testCtx(t)
	for _, sink := range []string{"fluentd", "datadog", "lock"} {
		c, err := stream.EnsureConsumer(ctx, e.js, stream.DefaultName, sink, stream.ConsumerOptions{})
		if err != nil {
			t.Fatalf("EnsureConsumer(%s): %v", sink, err)
		}
		if name := c.CachedInfo().Name; name != "sink-"+sink {
			t.Errorf("consumer name = %q", name)
		}
	}
	// Another replica with other limits updates the consumer in place.
	c, err := stream.EnsureConsumer(ctx, e.js, stream.DefaultName, "fluentd", stream.ConsumerOptions{MaxAckPending: 5000, AckWait: time.Minute})
	if err != nil {
		t.Fatalf("EnsureConsumer(update): %v", err)
	}
	cfg := c.CachedInfo().Config
	if cfg.MaxAckPending != 5000 || cfg.AckWait != time.Minute || len(cfg.BackOff) != 0 {
		t.Errorf("updated config: max ack pending %d, ack wait %v, backoff %v", cfg.MaxAckPending, cfg.AckWait, cfg.BackOff)
	}
	if _, err := stream.EnsureConsumer(ctx, e.js, "NO_SUCH_STREAM", "fluentd", stream.ConsumerOptions{}); err == nil {
		t.Error("EnsureConsumer on a missing stream succeeded")
	}
}

func TestRedriveSubject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sink, subject string
		want          string
		wantErr       bool
	}{
		{"fluentd", "teleport.audit.user.login", "teleport.redrive.fluentd.audit.user.login", false},
		{"datadog", "teleport.session.print", "teleport.redrive.datadog.session.print", false},
		{"datadog", "teleport.redrive.fluentd.audit.exec", "teleport.redrive.datadog.audit.exec", false},
		{"fluentd", "dlq.fluentd", "", true},
		{"fluentd", "teleport.audit.", "", true},
		{"a.b", "teleport.audit.exec", "", true},
	}
	for _, tt := range tests {
		got, err := stream.RedriveSubject(tt.sink, tt.subject)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("RedriveSubject(%q, %q) = %q, %v; want %q, error %v", tt.sink, tt.subject, got, err, tt.want, tt.wantErr)
		}
	}
	if got, err := stream.EventSubject("teleport.redrive.lock.audit.user.login"); got != "teleport.audit.user.login" || err != nil {
		t.Errorf("EventSubject = %q, %v", got, err)
	}
}
