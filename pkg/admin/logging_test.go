package admin

import (
	"net/http"
	"testing"
)

// TestLogRequests proves each request is logged once answered, with the route pattern (not
// the path), status, request id and who; probes at DEBUG, the API at INFO.
func TestLogRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.get("/v1/replays/abc", readToken)
	e.get("/readyz", "")
	e.get("/nowhere", "")
	recs := e.logs.records(t, "admin request")
	if len(recs) != 3 {
		t.Fatalf("%d request logs; want 3: %v", len(recs), recs)
	}
	r := recs[0]
	want := map[string]any{"level": "INFO", "method": "GET", "route": "/v1/replays/{id}", "path": "/v1/replays/abc",
		"status": float64(http.StatusNotFound), "request_id": res.header.Get("X-Request-Id"), "who": tokenWho(sha(readToken))}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("%s = %v; want %v (%v)", k, r[k], v, r)
		}
	}
	if _, ok := r["duration"]; !ok {
		t.Error("no duration")
	}
	if recs[1]["level"] != "DEBUG" || recs[1]["route"] != "/readyz" {
		t.Errorf("probe log %v; want DEBUG /readyz", recs[1])
	}
	if recs[2]["route"] != "unmatched" || recs[2]["status"] != float64(http.StatusNotFound) {
		t.Errorf("404 log %v; want route unmatched", recs[2])
	}
}
