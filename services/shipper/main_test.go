package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink/datadog/datadogtest"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// closedAddr is a 127.0.0.1 address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}

func TestRun(t *testing.T) {
	t.Parallel()
	natsDown := "nats.url=nats://" + closedAddr(t)
	const secret = "dd0123456789secretkeyabcdef0123"
	fluentdOK := []string{"--set", "forward.fluentd.url=https://127.0.0.1:24224/teleport.audit",
		"--set", "forward.fluentd.session-url=https://127.0.0.1:24224/teleport.session"}
	tests := []struct {
		name    string
		given   []string // arguments
		env     []string
		wantIs  error    // errors.Is(err, wantIs)
		wantErr []string // each in the error; none: no error
		wantOut []string // each on stdout
		hidden  string   // in neither the output nor the error
	}{
		{name: "help", given: []string{"--help"}, wantIs: flag.ErrHelp},
		{name: "version", given: []string{"--version"}, wantOut: []string{"auditpipe-shipper dev (go"}},
		{name: "unknown flag", given: []string{"--batch", "5"}, wantErr: []string{"flag provided but not defined: -batch"}},
		{name: "argument", given: []string{"ship"}, wantErr: []string{`unexpected argument "ship"`}},
		{name: "bad set", given: []string{"--set", "shipper.sinks"}, wantErr: []string{"--set argument 1: want key=value"}},
		{
			name:    "missing file",
			given:   []string{"--config", "/nonexistent/auditpipe.toml"},
			wantErr: []string{"configuration:", "/nonexistent/auditpipe.toml"},
		},
		{
			name:    "unknown sink",
			given:   []string{"--sinks", "fluentd,splunk"},
			wantErr: []string{"invalid configuration:", "shipper.sinks", "splunk"},
		},
		{
			name:  "every problem named by its key",
			given: []string{"--sinks", "fluentd,datadog", "--set", "shipper.ack-wait=0s", "--set", "shipper.max-in-flight=0"},
			wantErr: []string{"invalid configuration:", "forward.fluentd.url", "forward.datadog.api-key-file",
				"shipper.ack-wait", "shipper.max-in-flight"},
		},
		{
			name:    "the API key never shows",
			given:   []string{"--sinks", "datadog", "--set", "forward.datadog.url=http://intake.example.com"},
			env:     []string{"DD_API_KEY=" + secret},
			wantErr: []string{"forward.datadog.url"},
			hidden:  secret,
		},
		{
			name:    "credentials in a URL are refused and not shown",
			given:   []string{"--set", "nats.url=nats://admin:hunter2@nats:4222"},
			wantErr: []string{"nats.url"},
			hidden:  "hunter2",
		},
		{
			name:    "NATS unreachable",
			given:   append([]string{"--set", natsDown, "--set", "metrics.listen="}, fluentdOK...),
			wantErr: []string{"nats: connect to"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.given, tt.env, &stdout, &stderr)
			switch {
			case tt.wantIs != nil:
				if !errors.Is(err, tt.wantIs) {
					t.Fatalf("run = %v; want %v", err, tt.wantIs)
				}
			case len(tt.wantErr) == 0 && err != nil:
				t.Fatalf("run = %v; want no error", err)
			case len(tt.wantErr) > 0 && err == nil:
				t.Fatalf("run = nil; want an error with %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout %q does not say %q", stdout.String(), want)
				}
			}
			if tt.hidden != "" {
				all := stdout.String() + stderr.String()
				if err != nil {
					all += err.Error()
				}
				if strings.Contains(all, tt.hidden) {
					t.Errorf("the output or error shows %q", tt.hidden)
				}
			}
		})
	}
}

// TestDryRun: with dry-run the shipper connects to nothing and ships nothing; a stop ends it
// with no error.
func TestDryRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var stderr bytes.Buffer
	args := []string{"--set", "dry-run=true", "--set", "nats.url=nats://" + closedAddr(t), "--set", "metrics.listen=127.0.0.1:0",
		"--set", "forward.fluentd.url=https://127.0.0.1:24224/a", "--set", "forward.fluentd.session-url=https://127.0.0.1:24224/s"}
	if err := run(ctx, args, nil, io.Discard, &stderr); err != nil {
		t.Fatalf("run = %v; want nil after the stop\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "dry-run") {
		t.Errorf("no dry-run warning in the log:\n%s", stderr.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSmoke runs the real program against an embedded NATS, a fake Fluentd and a fake
// Datadog intake: the events on the stream reach both, /readyz and /metrics say so, and
// SIGTERM (the ctx) stops it with no error. Redis does not answer: without the lock sink
// that only keeps the replica out of the replicas register, with one warning (rate-limited,
// though the beats fail every interval), and no readiness check.
func TestSmoke(t *testing.T) {
	t.Parallel()
	ns := testenv.NATS(t)
	peer := fluentdtest.New(t)
	intake := datadogtest.New(t)
	f := peer.Config()
	cfgFile := filepath.Join(t.TempDir(), "auditpipe.toml")
	toml := fmt.Sprintf(`[nats]
url = %q

[forward.fluentd]
url = %q
session-url = %q
ca = %q
cert = %q
key = %q

[forward.datadog]
url = %q

[shipper]
sinks = ["fluentd", "datadog"]
ack-wait = "5s"

[redis]
addr = %q

[metrics]
listen = "127.0.0.1:0"
`, ns.URL, f.URL, f.SessionURL, f.CA, f.Cert, f.Key, intake.URL(), closedAddr(t))
	if err := os.WriteFile(cfgFile, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}

	sh := startShipper(t, cfgFile, []string{"DD_API_KEY=" + intake.APIKey()}, ns, "fluentd", "datadog")
	done, stderr := sh.done, sh.stderr
	events := make([]event.Event, 20)
	for i := range events {
		events[i] = sinktest.AuditEvent(i)
	}
	sh.publish(t, events)
	waitFor(t, 20*time.Second, "every event at Fluentd and Datadog", func() bool {
		return peer.Accepted() >= len(events) && intake.Accepted() >= len(events)
	}, done, stderr)

	addr := healthAddr(t, stderr.String())
	ready := get(t, "http://"+addr+"/readyz")
	for _, want := range []string{`"status":"ok"`, `"nats":"ok"`, `"sink-fluentd":"ok"`, `"sink-datadog":"ok"`} {
		if !strings.Contains(ready, want) {
			t.Errorf("/readyz = %s; want %s", ready, want)
		}
	}
	if strings.Contains(ready, "redis") {
		t.Errorf("/readyz = %s; want no redis check without the lock sink", ready)
	}
	metrics := get(t, "http://"+addr+"/metrics")
	for _, want := range []string{
		`auditpipe_shipper_delivered_total{sink="fluentd",type="user.login"} 20`,
		`auditpipe_shipper_delivered_total{sink="datadog",type="user.login"} 20`,
		`auditpipe_sink_http_requests_total{code="202",sink="datadog"}`,
		`auditpipe_sink_http_requests_total{code="200",sink="fluentd"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics does not show %s", want)
		}
	}
	if strings.Contains(stderr.String(), intake.APIKey()) {
		t.Error("the log shows the API key")
	}

	sh.stop(t)
	if !strings.Contains(stderr.String(), `"msg":"auditpipe-shipper stopped","sink":"fluentd","delivered":20`) {
		t.Errorf("no final log line with the delivered count:\n%s", stderr)
	}
	if n := strings.Count(stderr.String(), "replicas register: beat failed"); n != 1 {
		t.Errorf("%d warnings of failed beats; want 1 (rate-limited)\n%s", n, stderr)
	}
}

// shipperRun is the real program running in the test.
type shipperRun struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan error
	stderr *syncBuffer
	js     jetstream.JetStream // the test's own, on ns
}

// startShipper runs the program with cfgFile and env, and waits until it has created the
// consumers of sinks, so that the test can publish.
func startShipper(t *testing.T, cfgFile string, env []string, ns *testenv.NATSServer, sinks ...string) *shipperRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sh := &shipperRun{ctx: ctx, cancel: cancel, done: make(chan error, 1), stderr: &syncBuffer{}}
	go func() { sh.done <- run(ctx, []string{"--config", cfgFile}, env, io.Discard, sh.stderr) }()
	js, err := jetstream.New(ns.Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	sh.js = js
	for _, s := range sinks {
		waitFor(t, 30*time.Second, "the consumer of "+s, func() bool {
			_, err := js.Consumer(ctx, stream.DefaultName, stream.ConsumerName(s))
			return err == nil
		}, sh.done, sh.stderr)
	}
	return sh
}

// publish puts events on the stream.
func (sh *shipperRun) publish(t *testing.T, events []event.Event) {
	t.Helper()
	p, err := stream.NewPublisher(sh.ctx, sh.js, stream.PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PublishPage(sh.ctx, events, event.Replay{}); err != nil {
		t.Fatal(err)
	}
}

// stop stops the program as SIGTERM does and checks that it returns nil.
func (sh *shipperRun) stop(t *testing.T) {
	t.Helper()
	sh.cancel()
	select {
	case err := <-sh.done:
		if err != nil {
			t.Fatalf("run after the stop = %v; want nil\n%s", err, sh.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("run did not return within 30s of the stop\n%s", sh.stderr)
	}
}

// waitFor polls cond until it holds, failing when timeout passes or run returns first.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, done <-chan error, log fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case err := <-done:
			t.Fatalf("run returned %v while waiting for %s\n%s", err, what, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v\n%s", what, timeout, log)
		}
	}
}

// healthAddr finds the health server's address in the JSON log.
func healthAddr(t *testing.T, log string) string {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		var rec struct {
			Msg, Addr string
		}
		if json.Unmarshal([]byte(line), &rec) == nil && strings.HasPrefix(rec.Msg, "serving /healthz") {
			return rec.Addr
		}
	}
	t.Fatalf("no health server address in the log:\n%s", log)
	return ""
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return string(b)
}
