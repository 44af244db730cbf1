package sink_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/auditpipe/auditpipe/pkg/sink"
)

func TestHTTPMetricsShared(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	reg := prometheus.NewPedanticRegistry()
	a, err := sink.NewHTTPMetrics(reg, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := sink.NewHTTPMetrics(reg, "b") // shares the collectors registered for a
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: a.Transport(nil)}
	for _, path := range []string{"/ok", "/fail", "/ok"} {
		resp, err := client.Post(srv.URL+path, "application/json", strings.NewReader(`{"x":1}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	b.Observe(0, 0, 0) // no answer
	b.Blocked.Set(1)

	want := `
# HELP auditpipe_sink_http_requests_total HTTP requests a sink made, by status code ("error" when no answer came).
# TYPE auditpipe_sink_http_requests_total counter
auditpipe_sink_http_requests_total{code="200",sink="a"} 2
auditpipe_sink_http_requests_total{code="503",sink="a"} 1
auditpipe_sink_http_requests_total{code="error",sink="b"} 1
# HELP auditpipe_sink_http_sent_bytes_total Request body bytes a sink sent over HTTP, as on the wire (after compression).
# TYPE auditpipe_sink_http_sent_bytes_total counter
auditpipe_sink_http_sent_bytes_total{sink="a"} 21
auditpipe_sink_http_sent_bytes_total{sink="b"} 0
# HELP auditpipe_sink_blocked 1 while a sink refuses every event until an operator acts (e.g. Datadog refused the API key), else 0.
# TYPE auditpipe_sink_blocked gauge
auditpipe_sink_blocked{sink="a"} 0
auditpipe_sink_blocked{sink="b"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"auditpipe_sink_http_requests_total", "auditpipe_sink_http_sent_bytes_total", "auditpipe_sink_blocked"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "auditpipe_sink_http_request_duration_seconds"); n != 2 {
		t.Errorf("duration series = %d, want one per sink", n)
	}
}

func TestRegisterConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "auditpipe_sink_blocked", Help: "other"}))
	if _, err := sink.NewHTTPMetrics(reg, "a"); err == nil || !strings.Contains(err.Error(), "sink: metrics") {
		t.Fatalf("err = %v, want a registration conflict", err)
	}
}
