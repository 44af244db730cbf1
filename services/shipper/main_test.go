package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/service/servicetest"
	"github.com/auditpipe/auditpipe/pkg/sink/datadog/datadogtest"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

func TestRun(t *testing.T) {
	t.Parallel()
	natsDown := "nats.url=nats://" + testenv.ClosedAddr(t)
	const secret = "dd0123456789secretkeyabcdef0123"
	fluentdOK := []string{"--set", "forward.fluentd.url=https://127.0.0.1:24224/teleport.audit",
		"--set", "forward.fluentd.session-url=https://127.0.0.1:24224/teleport.session"}
	common := servicetest.CommandLineCases("auditpipe-shipper", version, "-sinks sinks")
	servicetest.RunCases(t, run, append(common, []servicetest.Case{
		{Name: "unknown flag", Given: []string{"--batch", "5"}, WantErr: []string{"flag provided but not defined: -batch"}},
		{
			Name:    "unknown sink",
			Given:   []string{"--sinks", "fluentd,splunk"},
			WantErr: []string{"invalid configuration:", "shipper.sinks", "splunk"},
		},
		{
			Name:  "every problem named by its key",
			Given: []string{"--sinks", "fluentd,datadog", "--set", "shipper.ack-wait=0s", "--set", "shipper.max-in-flight=0"},
			WantErr: []string{"invalid configuration:", "forward.fluentd.url", "forward.datadog.api-key-file",
				"shipper.ack-wait", "shipper.max-in-flight"},
		},
		{
			Name:    "the API key never shows",
			Given:   []string{"--sinks", "datadog", "--set", "forward.datadog.url=http://intake.example.com"},
			Env:     []string{"DD_API_KEY=" + secret},
			WantErr: []string{"forward.datadog.url"},
			Hidden:  secret,
		},
		{
			Name:    "credentials in a URL are refused and not shown",
			Given:   []string{"--set", "nats.url=nats://admin:hunter2@nats:4222"},
			WantErr: []string{"nats.url"},
			Hidden:  "hunter2",
		},
		{
			Name:    "NATS unreachable",
			Given:   append([]string{"--set", natsDown, "--set", "metrics.listen="}, fluentdOK...),
			WantErr: []string{"nats: connect to"},
		},
	}...))
}

// TestDryRun: with dry-run the shipper connects to nothing and ships nothing; a stop ends it
// with no error.
func TestDryRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var stderr bytes.Buffer
	args := []string{"--set", "dry-run=true", "--set", "nats.url=nats://" + testenv.ClosedAddr(t), "--set", "metrics.listen=127.0.0.1:0",
		"--set", "forward.fluentd.url=https://127.0.0.1:24224/a", "--set", "forward.fluentd.session-url=https://127.0.0.1:24224/s"}
	if err := run(ctx, args, nil, io.Discard, &stderr); err != nil {
		t.Fatalf("run = %v; want nil after the stop\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "dry-run") {
		t.Errorf("no dry-run warning in the log:\n%s", stderr.String())
	}
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
	cfgFile := servicetest.ConfigFile(t, fmt.Sprintf(`[nats]
url = %q
%s
[forward.datadog]
url = %q

[shipper]
sinks = ["fluentd", "datadog"]
ack-wait = "5s"

[redis]
addr = %q

[metrics]
listen = "127.0.0.1:0"
`, ns.URL, fluentdTOML(peer.Config()), intake.URL(), testenv.ClosedAddr(t)))

	sh := startShipper(t, cfgFile, []string{"DD_API_KEY=" + intake.APIKey()}, ns, "fluentd", "datadog")
	stderr := sh.Log
	events := auditEvents(20)
	sh.publish(t, events)
	sh.WaitFor(t, 20*time.Second, "every event at Fluentd and Datadog", func() bool {
		return peer.Accepted() >= len(events) && intake.Accepted() >= len(events)
	})

	addr := sh.HealthAddr(t)
	ready := get(t, "http://"+addr+"/readyz")
	for _, want := range []string{`"status":"ok"`, `"nats":"ok"`, `"sink-fluentd":"ok"`, `"sink-datadog":"ok"`} {
		if !strings.Contains(ready, want) {
			t.Errorf("/readyz = %s; want %s", ready, want)
		}
	}
	if strings.Contains(ready, "redis") {
		t.Errorf("/readyz = %s; want no redis check without the lock sink", ready)
	}
	// The peers count an event when they accept it; the shipper counts it once the answer is
	// back and the event acked, a moment later.
	delivered := []string{
		`auditpipe_shipper_delivered_total{sink="fluentd",type="user.login"} 20` + "\n",
		`auditpipe_shipper_delivered_total{sink="datadog",type="user.login"} 20` + "\n",
	}
	var metrics string
	sh.WaitFor(t, 20*time.Second, "the deliveries counted in /metrics", func() bool {
		metrics = get(t, "http://"+addr+"/metrics")
		return strings.Contains(metrics, delivered[0]) && strings.Contains(metrics, delivered[1])
	})
	for _, want := range []string{
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

	sh.Stop(t)
	if !strings.Contains(stderr.String(), `"msg":"auditpipe-shipper stopped","sink":"fluentd","delivered":20`) {
		t.Errorf("no final log line with the delivered count:\n%s", stderr)
	}
	if n := strings.Count(stderr.String(), "replicas register: beat failed"); n != 1 {
		t.Errorf("%d warnings of failed beats; want 1 (rate-limited)\n%s", n, stderr)
	}
}

// shipperRun is the real program running in the test, with the test's own JetStream handle
// on its NATS server.
type shipperRun struct {
	*servicetest.Service
	js jetstream.JetStream
}

// startShipper runs the program with cfgFile and env, and waits until it has created the
// consumers of sinks, so that the test can publish.
func startShipper(t *testing.T, cfgFile string, env []string, ns *testenv.NATSServer, sinks ...string) *shipperRun {
	t.Helper()
	sh := &shipperRun{Service: servicetest.Start(t, run, []string{"--config", cfgFile}, env)}
	js, err := jetstream.New(ns.Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	sh.js = js
	for _, s := range sinks {
		sh.WaitFor(t, 30*time.Second, "the consumer of "+s, func() bool {
			_, err := js.Consumer(t.Context(), stream.DefaultName, stream.ConsumerName(s))
			return err == nil
		})
	}
	return sh
}

// publish puts events on the stream.
func (sh *shipperRun) publish(t *testing.T, events []event.Event) {
	t.Helper()
	p, err := stream.NewPublisher(t.Context(), sh.js, stream.PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PublishPage(t.Context(), events, event.Replay{}); err != nil {
		t.Fatal(err)
	}
}

// auditEvents are n audit events, sinktest.AuditEvent(0) to (n-1).
func auditEvents(n int) []event.Event {
	events := make([]event.Event, n)
	for i := range events {
		events[i] = sinktest.AuditEvent(i)
	}
	return events
}

// fluentdTOML is the [forward.fluentd] section for the fake Fluentd f.
func fluentdTOML(f config.Fluentd) string {
	return fmt.Sprintf(`
[forward.fluentd]
url = %q
session-url = %q
ca = %q
cert = %q
key = %q
`, f.URL, f.SessionURL, f.CA, f.Cert, f.Key)
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
