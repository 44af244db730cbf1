package clients

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/logtest"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

func TestNATSReconnectsAndLogs(t *testing.T) {
	srv := testenv.NATS(t)
	var logs logtest.Buffer
	nc, err := NATS(config.NATS{URL: srv.URL}, "auditpipe-test r1", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if nc.Opts.Name != "auditpipe-test r1" {
		t.Errorf("connection name %q", nc.Opts.Name)
	}
	srv.Restart()
	logs.Wait(t, 20*time.Second, "a reconnection", logtest.Contains("NATS reconnected"))
	for _, want := range []string{"NATS connection lost; reconnecting", "NATS reconnected"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
	if !nc.IsConnected() {
		t.Fatalf("not connected after the restart: %v", nc.Status())
	}
}

func TestNATSFirstConnectionMustSucceed(t *testing.T) {
	_, err := NATS(config.NATS{URL: "nats://127.0.0.1:1"}, "x", slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "nats: connect to nats://127.0.0.1:1") {
		t.Fatalf("err = %v, want one naming the URL", err)
	}
}

func TestNATSConnected(t *testing.T) {
	srv := testenv.NATS(t)
	nc, err := NATS(config.NATS{URL: srv.URL}, "auditpipe-test ready", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	check := NATSConnected(nc)
	if err := check(t.Context()); err != nil {
		t.Fatalf("connected: %v", err)
	}
	srv.Shutdown()
	deadline := time.Now().Add(10 * time.Second)
	for nc.IsConnected() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := check(t.Context()); err == nil || !strings.HasPrefix(err.Error(), "nats: ") {
		t.Fatalf("after the server stopped: %v, want the connection's state", err)
	}
}

func TestNATSServerAtLeast(t *testing.T) {
	tests := []struct {
		given string
		want  bool
	}{
		{"2.10.0", true},
		{"2.10.24", true},
		{"2.12.1", true},
		{"2.11.0-RC.1", true},
		{"3.0.0", true},
		{"2.9.10", false},
		{"2.2.6", false},
		{"1.4.1", false},
		{"", true},      // no version given: JetStream's own errors still apply
		{"dev", true},   // unparsable: the same
		{"2.x.0", true}, // the same
	}
	for _, tt := range tests {
		if got := natsServerAtLeast(tt.given, minNATSServer); got != tt.want {
			t.Errorf("natsServerAtLeast(%q) = %t, want %t", tt.given, got, tt.want)
		}
	}
}
