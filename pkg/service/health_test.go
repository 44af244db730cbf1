package service

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
)

func TestNewRegistry(t *testing.T) {
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	for _, want := range []string{"go_goroutines", "process_start_time_seconds"} {
		if !names[want] {
			t.Errorf("the registry does not gather %s", want)
		}
	}
	// A registry of its own: a second one registers the same collectors without conflict.
	if _, err := NewRegistry(); err != nil {
		t.Errorf("second NewRegistry: %v", err)
	}
}

// ListenHealth on port 0 logs the address it got and serves /healthz, /readyz (with the
// service's checks) and /metrics there until its context ends; then the port is closed.
func TestListenHealth(t *testing.T) {
	var logs bytes.Buffer
	h, err := ListenHealth(config.Metrics{Listen: "127.0.0.1:0"}, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Level, Msg, Addr string }
	if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if rec.Level != "INFO" || rec.Msg != "serving /healthz, /readyz and /metrics" || rec.Addr == "" {
		t.Fatalf("log record %+v; want the address at INFO", rec)
	}
	h.Server.AddCheck("engine", func(context.Context) error { return nil })

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx) }()
	for path, want := range map[string]string{"/healthz": `"status":"ok"`, "/readyz": `"engine":"ok"`, "/metrics": "go_goroutines"} {
		res, err := http.Get("http://" + rec.Addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d %s; want 200 with %s", path, res.StatusCode, body, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after the stop = %v, want nil", err)
		}
	case <-time.After(HealthDrain + time.Second):
		t.Fatal("Serve did not return after the stop")
	}
	if c, err := net.DialTimeout("tcp", rec.Addr, time.Second); err == nil {
		c.Close()
		t.Error("the health server still listens after the stop")
	}
}

func TestListenHealthOff(t *testing.T) {
	var logs bytes.Buffer
	h, err := ListenHealth(config.Metrics{}, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Errorf("log %q; want nothing without metrics.listen", logs.String())
	}
	if h.Registry == nil || h.Server == nil {
		t.Fatal("no registry or server without metrics.listen")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := h.Serve(ctx); err != nil { // at once, with ctx still live
		t.Errorf("Serve = %v, want nil", err)
	}
}

func TestListenHealthTaken(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	_, err = ListenHealth(config.Metrics{Listen: lis.Addr().String()}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.HasPrefix(err.Error(), "metrics.listen: ") {
		t.Errorf("ListenHealth on a taken port = %v; want a metrics.listen error", err)
	}
}
