package admin

import (
	"net/http"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// TestAudit proves every request to a write route is logged as an "admin action" with who,
// route, request id, status and outcome — successes with what the handler did, failures with
// the error — while reads are not.
func TestAudit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok := e.do(request{method: http.MethodPut, path: "/v1/start-time", token: adminToken,
		body: adminapi.StartTimeRequest{StartTime: t0.Add(-1e9 * 3600), Confirm: true}})
	if ok.status != http.StatusOK {
		t.Fatalf("reset: %d %s", ok.status, ok.body)
	}
	bad := e.do(request{method: http.MethodPut, path: "/v1/start-time", token: adminToken, body: adminapi.StartTimeRequest{StartTime: t0}})
	bad.wantError(t, http.StatusBadRequest, adminapi.CodeBadRequest)
	e.get("/v1/status", adminToken)

	recs := e.auditRecords("PUT /v1/start-time")
	if len(recs) != 2 {
		t.Fatalf("%d audit records; want 2: %v", len(recs), recs)
	}
	who := tokenWho(sha(adminToken))
	first, second := recs[0], recs[1]
	if first["level"] != "INFO" || first["who"] != who || first["status"] != float64(http.StatusOK) ||
		first["outcome"] != "start time reset" || first["epoch"] != float64(1) ||
		first["request_id"] != ok.header.Get("X-Request-Id") || first["path"] != "/v1/start-time" {
		t.Errorf("success audit %v", first)
	}
	if second["status"] != float64(http.StatusBadRequest) || second["who"] != who ||
		second["outcome"] != "confirm must be true: the reset withdraws the current epoch's unfinished windows" {
		t.Errorf("failure audit %v", second)
	}
	if recs := e.logs.records(t, "admin action"); len(recs) != 2 {
		t.Errorf("%d admin actions logged; a read was audited: %v", len(recs), recs)
	}
}
