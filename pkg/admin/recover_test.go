package admin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// TestRecoverPanics proves a panicking handler answers 500 internal JSON, naming the request
// id, logs the panic with its stack, and that http.ErrAbortHandler is passed on.
func TestRecoverPanics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := requestID(e.srv.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	})))
	rec := newRecorder(h, http.MethodGet, "/v1/status", nil)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	msg := res.wantError(t, http.StatusInternalServerError, adminapi.CodeInternal)
	id := rec.Header().Get("X-Request-Id")
	if !strings.Contains(msg.Message, id) {
		t.Errorf("message %q does not name the request id %s", msg.Message, id)
	}
	recs := e.logs.records(t, "admin handler panicked")
	if len(recs) != 1 || recs[0]["panic"] != "boom" || !strings.Contains(recs[0]["stack"].(string), "recover_test.go") {
		t.Fatalf("panic log %v", recs)
	}

	abort := e.srv.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("recovered %v; want http.ErrAbortHandler passed on", v)
		}
	}()
	newRecorder(abort, http.MethodGet, "/", nil)
}
