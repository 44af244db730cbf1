package admin

import (
	"net/http"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// TestTimeout proves a request's context ends after the timeout, and a handler that waited on
// it answers 503 unavailable.
func TestTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var deadline time.Time
	h := timeout(20 * time.Millisecond)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline, _ = r.Context().Deadline()
		<-r.Context().Done()
		e.srv.writeError(w, r, r.Context().Err())
	}))
	start := time.Now()
	rec := newRecorder(h, http.MethodGet, "/", nil)
	if d := deadline.Sub(start); deadline.IsZero() || d < 20*time.Millisecond || d > time.Second {
		t.Fatalf("deadline %v after the start; want 20ms", d)
	}
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	res.wantError(t, http.StatusServiceUnavailable, adminapi.CodeUnavailable)
}
