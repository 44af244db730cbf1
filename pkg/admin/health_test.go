package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/health"
)

// TestHealth proves /healthz answers while the process lives, /readyz checks Redis and NATS
// (503 naming the one that is down), and /metrics serves the Gatherer — all without
// credentials.
func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if res := e.get("/healthz", ""); res.status != http.StatusOK || !strings.Contains(string(res.body), `"ok"`) {
		t.Fatalf("healthz: %d %s", res.status, res.body)
	}
	var rep health.Report
	e.get("/readyz", "").decode(t, http.StatusOK, &rep)
	if rep.Status != "ok" || rep.Checks["redis"] != "ok" || rep.Checks["nats"] != "ok" {
		t.Fatalf("readyz %+v", rep)
	}
	if res := e.get("/metrics", ""); res.status != http.StatusOK || !strings.Contains(string(res.body), "auditpipe_admin_http_requests_total") {
		t.Fatalf("metrics: %d %s", res.status, res.body)
	}

	e.nats.Shutdown()
	res := e.get("/readyz", "")
	if res.status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with NATS down: %d %s", res.status, res.body)
	}
	if err := json.Unmarshal(res.body, &rep); err != nil || rep.Status != "unavailable" ||
		rep.Checks["redis"] != "ok" || !strings.HasPrefix(rep.Checks["nats"], "jetstream: ") {
		t.Fatalf("readyz with NATS down: %+v, %v", rep, err)
	}
	if res := e.get("/healthz", ""); res.status != http.StatusOK {
		t.Fatalf("healthz with NATS down: %d", res.status)
	}
}
