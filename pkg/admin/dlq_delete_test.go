package admin

import (
	"net/http"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// TestDeleteDLQ proves DELETE /v1/dlq/{id} removes the entry with 204, answers 404 once it is
// gone, and 400 for ids that are not positive integers.
func TestDeleteDLQ(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.putDeadLetter("fluentd", "user.login", "u1", "HTTP 400", 1, []byte(`{}`))
	other := e.putDeadLetter("fluentd", "user.login", "u2", "HTTP 400", 2, []byte(`{}`))
	res := e.do(request{method: http.MethodDelete, path: "/v1/dlq/" + itoa(id), token: adminToken})
	if res.status != http.StatusNoContent || len(res.body) != 0 {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	var page adminapi.DLQPage
	e.get("/v1/dlq", readToken).decode(t, http.StatusOK, &page)
	if len(page.Entries) != 1 || page.Entries[0].ID != other {
		t.Fatalf("left %+v; want only %d", page.Entries, other)
	}
	msg := e.do(request{method: http.MethodDelete, path: "/v1/dlq/" + itoa(id), token: adminToken}).
		wantError(t, http.StatusNotFound, adminapi.CodeNotFound)
	if msg.Message != "no dead letter "+itoa(id) {
		t.Errorf("404 message %q", msg.Message)
	}
	for _, bad := range []string{"0", "-1", "abc", "1.0", "99999999999999999999"} {
		e.do(request{method: http.MethodDelete, path: "/v1/dlq/" + bad, token: adminToken}).
			wantError(t, http.StatusBadRequest, adminapi.CodeBadRequest)
	}
	if recs := e.auditRecords("DELETE /v1/dlq/{id}"); len(recs) != 7 || recs[0]["outcome"] != "dead letter deleted" || recs[0]["id"] != float64(id) {
		t.Fatalf("audit %v", recs)
	}
}
