package datadog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/logtest"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/datadog"
	"github.com/auditpipe/auditpipe/pkg/sink/datadog/datadogtest"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

func TestSuite(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (sink.Sink, sinktest.Peer) {
		intake := datadogtest.New(t, datadogtest.RequireGzip())
		s, err := datadog.New(intake.Config(t), datadog.WithLogger(discard()))
		if err != nil {
			t.Fatal(err)
		}
		return s, intake
	})
}

// fixture is a sink delivering to a fake intake, with its logs and metrics at hand.
type fixture struct {
	intake *datadogtest.Intake
	cfg    config.Datadog
	sink   *datadog.Sink
	reg    *prometheus.Registry
	logs   *logtest.Buffer
}

func newFixture(t *testing.T, change func(*config.Datadog), opts ...datadogtest.Option) *fixture {
	t.Helper()
	f := &fixture{
		intake: datadogtest.New(t, append([]datadogtest.Option{datadogtest.RequireGzip()}, opts...)...),
		reg:    prometheus.NewRegistry(),
		logs:   &logtest.Buffer{},
	}
	f.cfg = f.intake.Config(t)
	if change != nil {
		change(&f.cfg)
	}
	s, err := datadog.New(f.cfg, datadog.WithRegisterer(f.reg),
		datadog.WithLogger(slog.New(slog.NewJSONHandler(f.logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	f.sink = s
	return f
}

func (f *fixture) deliver(t *testing.T, batch []event.Event) []sink.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	results := f.sink.Deliver(ctx, batch)
	if len(results) != len(batch) {
		t.Fatalf("%d results for %d events", len(results), len(batch))
	}
	return results
}

// noSecret fails t when one of secrets shows in the logs or a reason.
func (f *fixture) noSecret(t *testing.T, results []sink.Result, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		if strings.Contains(f.logs.String(), secret) {
			t.Error("an API key is in the logs")
		}
		for i, r := range results {
			if strings.Contains(r.Reason, secret) {
				t.Errorf("event %d: an API key is in the reason", i)
			}
		}
	}
}

func TestItemsOnTheWire(t *testing.T) {
	f := newFixture(t, func(c *config.Datadog) {
		c.Source, c.Service, c.Hostname = "teleport", "teleport-audit", "auditpipe-0"
		c.Tags = []string{"env:prod", "team:security"}
	})
	now := time.Now().UTC()
	ev := mustParse(t, event.Audit, fmt.Sprintf(
		`{"event":"user.login","uid":"u-1","time":%q,"cluster_name":"east","user":"alice"}`, now.Format(time.RFC3339Nano)))
	session := sinktest.SessionEvent("s-1", 4)

	results := f.deliver(t, []event.Event{ev, session})
	for i, r := range results {
		if r.Outcome != sink.Delivered {
			t.Fatalf("event %d: %s: %s", i, r.Outcome, r.Reason)
		}
	}
	items := f.intake.Items()
	if len(items) != 2 {
		t.Fatalf("intake holds %d items, want 2", len(items))
	}
	it := items[0]
	if it.Message != string(ev.Body) {
		t.Errorf("message = %s, want the event body", it.Message)
	}
	if it.Source != "teleport" || it.Service != "teleport-audit" || it.Hostname != "auditpipe-0" {
		t.Errorf("source, service, hostname = %q, %q, %q", it.Source, it.Service, it.Hostname)
	}
	if want := "env:prod,team:security,event:user.login,cluster:east"; it.Tags != want {
		t.Errorf("ddtags = %q, want %q", it.Tags, want)
	}
	if got, want := it.Attributes["date"], now.Format("2006-01-02T15:04:05.000Z07:00"); got != want {
		t.Errorf("date = %q, want %q", got, want)
	}
	// sinktest's session event is dated 2025-01-02: too old for a Datadog date.
	if _, ok := items[1].Attributes["date"]; ok || items[1].Tags != "env:prod,team:security,event:print,cluster:sinktest" {
		t.Errorf("session item: tags %q, attributes %v", items[1].Tags, items[1].Attributes)
	}

	reqs := f.intake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if r := reqs[0]; r.Encoding != "gzip" || r.Path != "/api/v2/logs" || r.Status != http.StatusAccepted {
		t.Errorf("request %+v, want gzip to /api/v2/logs answered 202", r)
	}
}

func TestSplitByCount(t *testing.T) {
	f := newFixture(t, func(c *config.Datadog) { c.Batch = 10 })
	batch := audits(25, 0)
	results := f.deliver(t, batch)
	allDelivered(t, results)
	var counts []int
	for _, r := range f.intake.Requests() {
		counts = append(counts, r.Items)
	}
	if fmt.Sprint(counts) != "[10 10 5]" {
		t.Errorf("items per request = %v, want [10 10 5]", counts)
	}
	inOrder(t, f.intake, batch)
}

func TestSplitByBytes(t *testing.T) {
	f := newFixture(t, nil)
	batch := audits(20, 600_000) // 12 MB in all, at most 8 per 5 MB request
	results := f.deliver(t, batch)
	allDelivered(t, results)
	reqs := f.intake.Requests()
	if len(reqs) != 3 {
		t.Errorf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.Bytes > datadogtest.MaxPayloadBytes || r.Status != http.StatusAccepted {
			t.Errorf("request %d: %d bytes, status %d", i, r.Bytes, r.Status)
		}
		if r.WireBytes >= r.Bytes {
			t.Errorf("request %d: %d bytes on the wire for %d of JSON: not compressed", i, r.WireBytes, r.Bytes)
		}
	}
	inOrder(t, f.intake, batch)
	if got := metric(t, f.reg, "auditpipe_sink_http_requests_total", "sink", "datadog", "code", "202"); got != 3 {
		t.Errorf("requests{code=202} = %v, want 3", got)
	}
}

func TestOversizeEvent(t *testing.T) {
	f := newFixture(t, nil)
	batch := audits(5, 0)
	big := sinktest.Pad(sinktest.AuditEvent(99), 1_500_000)
	batch = append(batch[:2], append([]event.Event{big}, batch[2:]...)...)

	results := f.deliver(t, batch)
	for i, r := range results {
		switch {
		case i == 2:
			if r.Outcome != sink.Rejected || !strings.HasPrefix(r.Reason, datadog.ReasonOversize) {
				t.Errorf("oversize event: %s: %q, want rejected with %q", r.Outcome, r.Reason, datadog.ReasonOversize)
			}
		case r.Outcome != sink.Delivered:
			t.Errorf("event %d: %s: %s", i, r.Outcome, r.Reason)
		}
	}
	items := f.intake.Items()
	if len(items) != len(batch) {
		t.Fatalf("intake holds %d items, want %d", len(items), len(batch))
	}
	marked := items[2]
	if marked.Truncated {
		t.Error("the intake had to truncate: the sink sent an item over 1 MB")
	}
	if !strings.HasSuffix(marked.Tags, ","+datadog.MarkerTag) || !strings.Contains(marked.Tags, "event:user.login") {
		t.Errorf("marked record tags = %q", marked.Tags)
	}
	var msg map[string]json.RawMessage
	if err := json.Unmarshal([]byte(marked.Message), &msg); err != nil {
		t.Fatalf("marked record message is not JSON: %v", err)
	}
	if string(msg["uid"]) != `"sinktest-audit-99"` {
		t.Errorf("marked record uid = %s", msg["uid"])
	}
	var mark datadog.Truncation
	if err := json.Unmarshal(msg[datadog.MarkerField], &mark); err != nil || mark.OriginalBytes != len(big.Body) ||
		len(mark.Omitted) != 1 || mark.Omitted[0] != "sinktest_padding" {
		t.Errorf("marker = %+v (%v)", mark, err)
	}
	if got := metric(t, f.reg, "auditpipe_sink_datadog_oversize_events_total"); got != 1 {
		t.Errorf("oversize_events_total = %v, want 1", got)
	}
}

func TestOversizeEventRetriedUntilItsRecordIsAccepted(t *testing.T) {
	f := newFixture(t, nil)
	batch := []event.Event{sinktest.Pad(sinktest.AuditEvent(1), 1_200_000)}
	f.intake.FailNext(1, datadogtest.Failure{Status: http.StatusServiceUnavailable})
	if r := f.deliver(t, batch)[0]; r.Outcome != sink.Retry {
		t.Errorf("with the record refused: %s: %s, want retry", r.Outcome, r.Reason)
	}
	if r := f.deliver(t, batch)[0]; r.Outcome != sink.Rejected || !strings.HasPrefix(r.Reason, datadog.ReasonOversize) {
		t.Errorf("with the record accepted: %s: %s, want rejected as oversize", r.Outcome, r.Reason)
	}
}

func TestRateLimitedHonoursRetryAfter(t *testing.T) {
	f := newFixture(t, func(c *config.Datadog) { c.Batch = 5 })
	f.intake.FailNext(1, datadogtest.Failure{Status: http.StatusTooManyRequests, RetryAfter: "7"})
	results := f.deliver(t, audits(12, 0))
	for i, r := range results {
		if r.Outcome != sink.Retry || r.Blocked || r.RetryAfter != 7*time.Second {
			t.Errorf("event %d: %s blocked %t after %v: %s, want retry after 7s", i, r.Outcome, r.Blocked, r.RetryAfter, r.Reason)
		}
	}
	if n := len(f.intake.Requests()); n != 1 {
		t.Errorf("%d requests after a 429, want 1: the rest of the batch waits", n)
	}
}

func TestTransientFailureHaltsTheBatch(t *testing.T) {
	f := newFixture(t, func(c *config.Datadog) { c.Batch = 5 })
	f.intake.FailNext(1, datadogtest.Failure{Status: http.StatusBadGateway})
	results := f.deliver(t, audits(15, 0))
	for i, r := range results {
		if r.Outcome != sink.Retry || r.Blocked {
			t.Errorf("event %d: %s: %s, want retry", i, r.Outcome, r.Reason)
		}
	}
	if n := len(f.intake.Requests()); n != 1 {
		t.Errorf("%d requests, want 1: the rest of the batch is not sent after a 502", n)
	}
	if !strings.Contains(results[14].Reason, "not sent after an earlier request") {
		t.Errorf("unsent event reason %q", results[14].Reason)
	}
}

func TestRefusedKeyBlocks(t *testing.T) {
	const wrongKey = "wrong-key-0123456789abcdef"
	for _, forbidden := range []bool{false, true} {
		t.Run(fmt.Sprintf("403=%t", forbidden), func(t *testing.T) {
			var opts []datadogtest.Option
			want := http.StatusUnauthorized
			if forbidden {
				opts, want = append(opts, datadogtest.WrongKeyForbidden()), http.StatusForbidden
			}
			f := newFixture(t, func(c *config.Datadog) {
				c.Batch = 4
				writeFile(t, c.APIKeyFile, wrongKey)
			}, opts...)
			batch := audits(10, 0)
			for attempt := range 2 {
				results := f.deliver(t, batch)
				for i, r := range results {
					if r.Outcome != sink.Retry || !r.Blocked {
						t.Errorf("attempt %d event %d: %s blocked %t: %s, want retry blocked", attempt, i, r.Outcome, r.Blocked, r.Reason)
					}
				}
				f.noSecret(t, results, wrongKey, f.intake.APIKey())
			}
			if got := len(f.intake.Received()); got != 0 {
				t.Errorf("intake accepted %d events with a refused key", got)
			}
			reqs := f.intake.Requests()
			if len(reqs) != 2 || reqs[0].Status != want || reqs[1].Status != want {
				t.Errorf("requests = %+v, want one per Deliver, answered %d", reqs, want)
			}
			if got := metric(t, f.reg, "auditpipe_sink_blocked", "sink", "datadog"); got != 1 {
				t.Errorf("auditpipe_sink_blocked = %v, want 1", got)
			}
			alerts := logLines(t, f.logs, func(l map[string]any) bool { return l["alert"] == true })
			if len(alerts) != 1 || alerts[0]["level"] != "ERROR" || alerts[0]["sink"] != "datadog" {
				t.Errorf("alert logs = %v, want one ERROR for sink datadog", alerts)
			}

			// The operator fixes the key file: the next Deliver reads it, succeeds and unblocks.
			writeFile(t, f.cfg.APIKeyFile, f.intake.APIKey())
			allDelivered(t, f.deliver(t, batch))
			if got := metric(t, f.reg, "auditpipe_sink_blocked", "sink", "datadog"); got != 0 {
				t.Errorf("auditpipe_sink_blocked = %v after recovery, want 0", got)
			}
			if len(logLines(t, f.logs, func(l map[string]any) bool { return strings.Contains(fmt.Sprint(l["msg"]), "unblocked") })) != 1 {
				t.Error("no log of the recovery")
			}
			f.noSecret(t, nil, wrongKey, f.intake.APIKey())
		})
	}
}

func TestRequestTooLargeIsSplit(t *testing.T) {
	f := newFixture(t, nil)
	batch := audits(6, 0)
	f.intake.FailNext(1, datadogtest.Failure{Status: http.StatusRequestEntityTooLarge})
	allDelivered(t, f.deliver(t, batch))
	var counts []string
	for _, r := range f.intake.Requests() {
		counts = append(counts, fmt.Sprintf("%d:%d", r.Status, r.Items))
	}
	// The refused request is not parsed (Items 0); its halves of 3 are accepted.
	if got := strings.Join(counts, " "); got != "413:0 202:3 202:3" {
		t.Errorf("requests = %s", got)
	}
	inOrder(t, f.intake, batch)

	f.intake.FailNext(10, datadogtest.Failure{Status: http.StatusRequestEntityTooLarge})
	for i, r := range f.deliver(t, audits(2, 0)) {
		if r.Outcome != sink.Rejected {
			t.Errorf("single event %d answered 413: %s, want rejected", i, r.Outcome)
		}
	}
}

func TestBadRequestRejected(t *testing.T) {
	f := newFixture(t, nil)
	// A proxy that echoes the request's headers must not put the key into a Reason.
	f.intake.FailNext(1, datadogtest.Failure{Status: http.StatusBadRequest,
		Detail: "bad payload; request headers: DD-API-KEY: " + f.intake.APIKey()})
	results := f.deliver(t, audits(3, 0))
	for i, r := range results {
		if r.Outcome != sink.Rejected || !strings.Contains(r.Reason, "400") || !strings.Contains(r.Reason, "bad payload") {
			t.Errorf("event %d: %s: %q, want rejected with the intake's answer", i, r.Outcome, r.Reason)
		}
	}
	f.noSecret(t, results, f.intake.APIKey())
}

func TestURLOverrideThroughHTTPSProxyPath(t *testing.T) {
	for _, suffix := range []string{"/proxy/datadog", "/proxy/datadog/api/v2/logs"} {
		t.Run(suffix, func(t *testing.T) {
			intake := datadogtest.New(t, datadogtest.TLS(), datadogtest.RequireGzip())
			cfg := intake.Config(t)
			cfg.URL = intake.URL() + suffix
			if !strings.HasPrefix(cfg.URL, "https://127.0.0.1:") {
				t.Fatalf("url %s", cfg.URL)
			}
			s, err := datadog.New(cfg, datadog.WithHTTPClient(intake.Client()), datadog.WithLogger(discard()))
			if err != nil {
				t.Fatal(err)
			}
			allDelivered(t, s.Deliver(t.Context(), audits(3, 0)))
			if reqs := intake.Requests(); len(reqs) != 1 || reqs[0].Path != "/proxy/datadog/api/v2/logs" {
				t.Errorf("requests = %+v, want one to /proxy/datadog/api/v2/logs", reqs)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		change  func(*config.Datadog)
		wantErr error
		wantMsg string
	}{
		{name: "no API key source", change: func(c *config.Datadog) { c.APIKeyFile = "" },
			wantErr: config.ErrNoAPIKey, wantMsg: "set DD_API_KEY or forward.datadog.api-key-file"},
		{name: "missing key file", change: func(c *config.Datadog) { c.APIKeyFile = keyFile + ".missing" },
			wantErr: fs.ErrNotExist},
		{name: "unknown site shape", change: func(c *config.Datadog) { c.Site = "https://datadoghq.com" },
			wantErr: datadog.ErrConfig, wantMsg: "forward.datadog.site"},
		{name: "url scheme", change: func(c *config.Datadog) { c.URL = "tcp://intake:10516" },
			wantErr: datadog.ErrConfig, wantMsg: "forward.datadog.url"},
		{name: "batch over 1000", change: func(c *config.Datadog) { c.Batch = 1001 },
			wantErr: datadog.ErrConfig, wantMsg: "forward.datadog.batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default().Forward.Datadog
			cfg.APIKeyFile = keyFile
			tt.change(&cfg)
			s, err := datadog.New(cfg)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(fmt.Sprint(err), tt.wantMsg) {
				t.Errorf("New = %v, %v; want an error wrapping %v saying %q", s, err, tt.wantErr, tt.wantMsg)
			}
		})
	}
}

func TestKeyFromEnvironment(t *testing.T) {
	intake := datadogtest.New(t)
	cfg, _, err := config.Load(config.Sources{Env: []string{
		"DD_API_KEY=" + intake.APIKey(),
		"AUDITPIPE_FORWARD_DATADOG_URL=" + intake.URL(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := datadog.New(cfg.Forward.Datadog, datadog.WithLogger(discard()))
	if err != nil {
		t.Fatal(err)
	}
	allDelivered(t, s.Deliver(t.Context(), audits(2, 0)))
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, func(c *config.Datadog) { c.Batch = 20 })
	allDelivered(t, f.deliver(t, audits(50, 1000)))
	payload := metric(t, f.reg, "auditpipe_sink_datadog_payload_bytes_total")
	sent := metric(t, f.reg, "auditpipe_sink_http_sent_bytes_total", "sink", "datadog")
	if payload < 50_000 || sent <= 0 || sent >= payload {
		t.Errorf("payload %v bytes, sent %v bytes: want sent (gzip) below payload", payload, sent)
	}
	if got := metric(t, f.reg, "auditpipe_sink_datadog_request_items"); got != 3 {
		t.Errorf("request_items has %v samples, want 3", got)
	}
	if got := metric(t, f.reg, "auditpipe_sink_http_request_duration_seconds", "sink", "datadog"); got != 3 {
		t.Errorf("request_duration_seconds has %v samples, want 3", got)
	}
	if got := metric(t, f.reg, "auditpipe_sink_http_requests_total", "sink", "datadog", "code", "202"); got != 3 {
		t.Errorf("requests{code=202} = %v, want 3", got)
	}
	// A second sink on the same Registerer shares the metrics.
	if _, err := datadog.New(f.cfg, datadog.WithRegisterer(f.reg)); err != nil {
		t.Errorf("second sink on one Registerer: %v", err)
	}
}

// metric returns the value of the series of metric name that has every label=value of
// labels (pairs): a counter's or gauge's value, a histogram's sample count.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			match := true
			for i := 0; i+1 < len(labels); i += 2 {
				match = match && have[labels[i]] == labels[i+1]
			}
			if match {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func allDelivered(t *testing.T, results []sink.Result) {
	t.Helper()
	for i, r := range results {
		if r.Outcome != sink.Delivered {
			t.Errorf("event %d: %s: %s, want delivered", i, r.Outcome, r.Reason)
		}
	}
}

// inOrder checks that the intake holds exactly batch, in order.
func inOrder(t *testing.T, intake *datadogtest.Intake, batch []event.Event) {
	t.Helper()
	got := intake.Received()
	if len(got) != len(batch) {
		t.Fatalf("intake holds %d events, want %d", len(got), len(batch))
	}
	for i, ev := range batch {
		if !bytes.Equal(got[i], ev.Body) {
			t.Errorf("event %d differs or is out of order", i)
		}
	}
}

// audits returns n audit events, each of at least size bytes.
func audits(n, size int) []event.Event {
	out := make([]event.Event, n)
	for i := range out {
		out[i] = sinktest.Pad(sinktest.AuditEvent(i), size)
	}
	return out
}

func mustParse(t *testing.T, kind event.Kind, body string) event.Event {
	t.Helper()
	ev, err := event.Parse(kind, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// logLines returns the JSON log lines in buf for which keep is true.
func logLines(t *testing.T, buf *logtest.Buffer, keep func(map[string]any) bool) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range buf.Records(t) {
		if keep(l) {
			out = append(out, l)
		}
	}
	return out
}

// TestMetricsSharedWithFluentd registers both HTTP sinks on one Registerer, as the shipper
// does: their shared metrics must agree in name, help and labels.
func TestMetricsSharedWithFluentd(t *testing.T) {
	reg := prometheus.NewRegistry()
	fs, err := fluentd.New(fluentdtest.New(t).Config(), fluentd.WithRegisterer(reg))
	if err != nil {
		t.Fatalf("fluentd sink: %v", err)
	}
	t.Cleanup(fs.Close)
	intake := datadogtest.New(t)
	s, err := datadog.New(intake.Config(t), datadog.WithRegisterer(reg), datadog.WithLogger(discard()))
	if err != nil {
		t.Fatalf("datadog sink beside the fluentd sink: %v", err)
	}
	allDelivered(t, s.Deliver(t.Context(), audits(2, 0)))
	if got := metric(t, reg, "auditpipe_sink_http_requests_total", "sink", "datadog", "code", "202"); got != 1 {
		t.Errorf("requests{sink=datadog,code=202} = %v, want 1", got)
	}
}
