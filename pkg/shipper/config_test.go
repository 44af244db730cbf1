package shipper_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		given   shipper.Config
		wantErr bool
	}{
		{name: "zero value: every default", given: shipper.Config{}},
		{name: "test settings", given: testConfig()},
		{name: "no delivery limit", given: shipper.Config{MaxDeliver: -1}},
		{name: "negative ack wait", given: shipper.Config{AckWait: -time.Second}, wantErr: true},
		{name: "ack wait too short for InProgress", given: shipper.Config{AckWait: 100 * time.Millisecond}, wantErr: true},
		{name: "max deliver below -1", given: shipper.Config{MaxDeliver: -2}, wantErr: true},
		{name: "negative max in flight", given: shipper.Config{MaxInFlight: -1}, wantErr: true},
		{name: "negative linger", given: shipper.Config{Linger: -time.Millisecond}, wantErr: true},
		{name: "negative batch bytes", given: shipper.Config{BatchBytes: -1}, wantErr: true},
		{name: "negative drain", given: shipper.Config{DrainTimeout: -time.Second}, wantErr: true},
		{name: "retry max below initial", given: shipper.Config{RetryInitial: time.Minute, RetryMax: time.Second}, wantErr: true},
		{name: "blocked retry below initial", given: shipper.Config{RetryInitial: time.Minute, BlockedRetryMax: time.Second, RetryMax: time.Hour}, wantErr: true},
		{name: "bad stream name", given: shipper.Config{Stream: streamOptionsNamed("a.b")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.given.Validate()
			if tt.wantErr != (err != nil) {
				t.Fatalf("Validate() = %v; want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, shipper.ErrInvalidConfig) {
				t.Errorf("Validate() = %v; want it to wrap ErrInvalidConfig", err)
			}
		})
	}
}

func streamOptionsNamed(name string) (o stream.Options) {
	o = streamOptions
	o.Name = name
	return o
}

func TestFromConfig(t *testing.T) {
	t.Parallel()
	c := config.Default()
	got := shipper.FromConfig(c)
	if got.AckWait != c.Shipper.AckWait || got.MaxDeliver != c.Shipper.MaxDeliver || got.MaxInFlight != c.Shipper.MaxInFlight ||
		got.Stream.Name != c.NATS.Stream || got.Stream.MaxAge != c.NATS.MaxAge || got.Stream.DuplicateWindow != c.NATS.DuplicateWindow {
		t.Errorf("FromConfig(Default()) = %+v; want the [shipper] and [nats] values", got)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("FromConfig(Default()).Validate() = %v", err)
	}
	c.NATS.MaxAge = 0 // config: no age limit
	if got := shipper.FromConfig(c); got.Stream.MaxAge >= 0 {
		t.Errorf("nats.max-age 0 gave stream MaxAge %v; want negative (no limit)", got.Stream.MaxAge)
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok := funcSink{name: "fluentd", deliver: func(context.Context, []event.Event) []sink.Result { return nil }}
	tests := []struct {
		name    string
		targets []shipper.Target
	}{
		{name: "no target"},
		{name: "no sink", targets: []shipper.Target{{Batch: 1}}},
		{name: "batch 0", targets: []shipper.Target{{Sink: ok}}},
		{name: "sink twice", targets: []shipper.Target{{Sink: ok, Batch: 1}, {Sink: ok, Batch: 2}}},
		{name: "sink name not a subject token", targets: []shipper.Target{{Sink: funcSink{name: "a.b"}, Batch: 1}}},
		{name: "subject outside the events", targets: []shipper.Target{{Sink: ok, Batch: 1, Subjects: []string{"dlq.>"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := shipper.New(testConfig(), tt.targets, shipper.Deps{JetStream: e.js})
			if !errors.Is(err, shipper.ErrInvalidConfig) {
				t.Errorf("New = %v; want ErrInvalidConfig", err)
			}
		})
	}
}
