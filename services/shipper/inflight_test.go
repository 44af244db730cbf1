package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// inFlightWarning is the start-up warning of warnInFlight, as JSON.
type inFlightWarning struct {
	Level           string `json:"level"`
	Msg             string `json:"msg"`
	Sink            string `json:"sink"`
	BatchKey        string `json:"batch_key"`
	Batch           int    `json:"batch"`
	MaxInFlight     int    `json:"max_in_flight"`
	BatchesInFlight int    `json:"batches_in_flight"`
	WantMaxInFlight int    `json:"want_max_in_flight"`
}

// inFlightWarnings returns the max-in-flight warnings in a JSON log.
func inFlightWarnings(t *testing.T, log string) []inFlightWarning {
	t.Helper()
	var ws []inFlightWarning
	for _, line := range strings.Split(log, "\n") {
		var w inFlightWarning
		if json.Unmarshal([]byte(line), &w) == nil && strings.HasPrefix(w.Msg, "shipper.max-in-flight leaves room") {
			ws = append(ws, w)
		}
	}
	return ws
}

func TestWarnInFlight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(c *config.Config)
		want  *inFlightWarning // nil: no warning
		names []string         // in the message: the keys to raise or lower and why
	}{
		{name: "the defaults: fluentd, batches of 100", edit: func(*config.Config) {}},
		{name: "the defaults: datadog, batches of 500", edit: func(c *config.Config) { c.Shipper.Sinks = []string{config.SinkDatadog} }},
		{
			name: "datadog's default batch of 500 with max-in-flight 1000: two batches for every replica together",
			edit: func(c *config.Config) {
				c.Shipper.Sinks = []string{config.SinkDatadog}
				c.Shipper.MaxInFlight = 1000
			},
			want: &inFlightWarning{Level: "WARN", Sink: "datadog", BatchKey: "forward.datadog.batch", Batch: 500,
				MaxInFlight: 1000, BatchesInFlight: 2, WantMaxInFlight: 2000},
			names: []string{"raise shipper.max-in-flight", "MaxAckPending, shared by ALL replicas", "replicas × 4 × batch"},
		},
		{
			name: "the largest batch of the sinks counts",
			edit: func(c *config.Config) {
				c.Shipper.Sinks = []string{config.SinkFluentd, config.SinkDatadog, config.SinkLock}
				c.Shipper.MaxInFlight = 1999
			},
			want: &inFlightWarning{Level: "WARN", Sink: "datadog", BatchKey: "forward.datadog.batch", Batch: 500,
				MaxInFlight: 1999, BatchesInFlight: 3, WantMaxInFlight: 2000},
		},
		{
			name: "room for exactly 4 batches",
			edit: func(c *config.Config) {
				c.Shipper.Sinks = []string{config.SinkFluentd, config.SinkDatadog}
				c.Shipper.MaxInFlight = 2000
			},
		},
		{
			name: "datadog with smaller batches",
			edit: func(c *config.Config) {
				c.Shipper.Sinks = []string{config.SinkDatadog, config.SinkLock}
				c.Forward.Datadog.Batch = 250
			},
		},
		{
			name: "a larger fluentd batch",
			edit: func(c *config.Config) {
				c.Forward.Fluentd.Batch = 300
				c.Shipper.MaxInFlight = 1000
			},
			want: &inFlightWarning{Level: "WARN", Sink: "fluentd", BatchKey: "forward.fluentd.batch", Batch: 300,
				MaxInFlight: 1000, BatchesInFlight: 3, WantMaxInFlight: 1200},
		},
		{
			name: "the lock sink's fixed batch",
			edit: func(c *config.Config) {
				c.Shipper.Sinks = []string{config.SinkLock}
				c.Shipper.MaxInFlight = 100
			},
			want: &inFlightWarning{Level: "WARN", Sink: "lock", BatchKey: "none (the lock sink's batch is fixed)", Batch: lockBatch,
				MaxInFlight: 100, BatchesInFlight: 1, WantMaxInFlight: 4 * lockBatch},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := config.Default()
			tt.edit(cfg)
			var log bytes.Buffer
			warnInFlight(cfg, slog.New(slog.NewJSONHandler(&log, nil)))
			got := inFlightWarnings(t, log.String())
			switch {
			case tt.want == nil:
				if log.Len() != 0 {
					t.Errorf("logged %s; want nothing", log.String())
				}
			case len(got) != 1:
				t.Fatalf("log %s; want one max-in-flight warning", log.String())
			default:
				w := got[0]
				w.Msg = ""
				if w != *tt.want {
					t.Errorf("warning %+v\nwant %+v", w, *tt.want)
				}
				for _, name := range tt.names {
					if !strings.Contains(got[0].Msg, name) {
						t.Errorf("the message does not say %q: %s", name, got[0].Msg)
					}
				}
			}
		})
	}
}

// TestRunWarnsInFlight: the real program warns at start, before it connects to anything,
// when shipper.max-in-flight leaves room for fewer than 4 of the largest batch; not with the
// defaults (max-in-flight 4000: 8 of Datadog's batches of 500). Dry-run keeps it from connecting.
func TestRunWarnsInFlight(t *testing.T) {
	t.Parallel()
	fluentd := []string{"--set", "forward.fluentd.url=https://127.0.0.1:24224/a", "--set", "forward.fluentd.session-url=https://127.0.0.1:24224/s"}
	tests := []struct {
		name string
		args []string
		want int // warnings
	}{
		{name: "the defaults with fluentd", args: fluentd},
		{name: "the defaults with datadog", args: []string{"--sinks", "datadog"}},
		{name: "datadog's default batch", args: []string{"--sinks", "datadog", "--set", "shipper.max-in-flight=1000"}, want: 1},
		{name: "fluentd and datadog", args: append([]string{"--sinks", "fluentd,datadog", "--set", "shipper.max-in-flight=1000"}, fluentd...), want: 1},
		{name: "max-in-flight raised", args: append([]string{"--sinks", "fluentd,datadog", "--set", "shipper.max-in-flight=2000"}, fluentd...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			var stderr bytes.Buffer
			args := append([]string{"--set", "dry-run=true", "--set", "metrics.listen="}, tt.args...)
			if err := run(ctx, args, []string{"DD_API_KEY=dd0123456789secretkeyabcdef0123"}, io.Discard, &stderr); err != nil {
				t.Fatalf("run = %v\n%s", err, stderr.String())
			}
			if n := len(inFlightWarnings(t, stderr.String())); n != tt.want {
				t.Errorf("%d max-in-flight warnings, want %d:\n%s", n, tt.want, stderr.String())
			}
		})
	}
}
