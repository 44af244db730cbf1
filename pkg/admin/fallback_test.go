package admin

import (
	"net/http"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// TestFallbacks proves unknown paths get 404 not_found and known paths with another method
// 405 method_not_allowed with Allow, both as JSON errors.
func TestFallbacks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range []string{"/", "/v2/status", "/v1/nope", "/v1/replays/a/b"} {
		e.get(p, adminToken).wantError(t, http.StatusNotFound, adminapi.CodeNotFound)
	}
	for _, tt := range []struct{ method, path, allow string }{
		{http.MethodPost, "/v1/status", "GET"},
		{http.MethodPut, "/v1/replays", "GET, POST"},
		{http.MethodPost, "/v1/replays/x", "GET, DELETE"},
		{http.MethodGet, "/v1/ingest/pause", "POST"},
		{http.MethodGet, "/v1/dlq/7", "DELETE"},
		{http.MethodDelete, "/healthz", "GET"},
	} {
		res := e.do(request{method: tt.method, path: tt.path, token: adminToken})
		res.wantError(t, http.StatusMethodNotAllowed, adminapi.CodeMethodNotAllowed)
		if got := res.header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q; want %q", tt.method, tt.path, got, tt.allow)
		}
	}
}
