package admin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetrics proves requests are counted by route pattern, method and code and timed, on
// Deps.Registerer, that /metrics serves Deps.Gatherer, and that two Servers may share a
// Registerer.
func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.get("/v1/replays/a", readToken)
	e.get("/v1/replays/b", readToken)
	e.get("/v1/replays", "")
	e.get("/nowhere", "")
	count := func(route, method, code string) float64 {
		return testutil.ToFloat64(e.srv.metrics.requests.WithLabelValues(route, method, code))
	}
	if n := count("/v1/replays/{id}", "GET", "404"); n != 2 {
		t.Errorf("GET /v1/replays/{id} 404 = %v; want 2", n)
	}
	if n := count("/v1/replays", "GET", "401"); n != 1 {
		t.Errorf("GET /v1/replays 401 = %v; want 1", n)
	}
	if n := count("unmatched", "GET", "404"); n != 1 {
		t.Errorf("unmatched 404 = %v; want 1", n)
	}
	res := e.get("/metrics", "")
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `auditpipe_admin_http_requests_total{code="404",method="GET",route="/v1/replays/{id}"} 2`) ||
		!strings.Contains(string(res.body), "auditpipe_admin_http_request_duration_seconds_bucket") {
		t.Fatalf("/metrics: %d\n%s", res.status, res.body)
	}

	reg := prometheus.NewRegistry()
	a, err := newHTTPMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newHTTPMetrics(reg)
	if err != nil {
		t.Fatalf("a second Server on one Registerer: %v", err)
	}
	if a.requests != b.requests || a.duration != b.duration {
		t.Fatal("the second Server did not share the registered metrics")
	}
}
