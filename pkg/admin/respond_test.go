package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// TestErrorResponse proves the mapping of errors to statuses and codes.
func TestErrorResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		given  error
		status int
		code   string
	}{
		{"api error", conflict("done"), http.StatusConflict, adminapi.CodeConflict},
		{"wrapped api error", fmt.Errorf("x: %w", notFound("gone")), http.StatusNotFound, adminapi.CodeNotFound},
		{"oversize body", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 10}), http.StatusRequestEntityTooLarge, adminapi.CodeTooLarge},
		{"store refuses", fmt.Errorf("%w: bad", window.ErrInvalid), http.StatusBadRequest, adminapi.CodeBadRequest},
		{"timeout", fmt.Errorf("redis: %w", context.DeadlineExceeded), http.StatusServiceUnavailable, adminapi.CodeUnavailable},
		{"redis closed", redis.ErrClosed, http.StatusServiceUnavailable, adminapi.CodeUnavailable},
		{"nats down", fmt.Errorf("x: %w", nats.ErrConnectionClosed), http.StatusServiceUnavailable, adminapi.CodeUnavailable},
		{"no route to redis", &net.OpError{Op: "dial", Err: errors.New("refused")}, http.StatusServiceUnavailable, adminapi.CodeUnavailable},
		{"anything else", errors.New("bug"), http.StatusInternalServerError, adminapi.CodeInternal},
	}
	for _, tt := range tests {
		status, body := errorResponse(tt.given)
		if status != tt.status || body.Code != tt.code || body.Status != tt.status || body.Message == "" {
			t.Errorf("%s: %d %+v; want %d %s", tt.name, status, body, tt.status, tt.code)
		}
	}
}

// TestWriteError proves internal errors are logged and answered without their detail but
// with the request id, and a 503 keeps its cause in the message.
func TestWriteError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := requestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.srv.writeError(w, r, errors.New("secret detail"))
	}))
	rec := newRecorder(h, http.MethodGet, "/v1/x", nil)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	msg := res.wantError(t, http.StatusInternalServerError, adminapi.CodeInternal)
	if msg.Message != "internal error; the server log has it under request id "+rec.Header().Get("X-Request-Id") {
		t.Errorf("message %q", msg.Message)
	}
	recs := e.logs.records(t, "admin request failed")
	if len(recs) != 1 || recs[0]["err"] != "secret detail" || recs[0]["request_id"] != rec.Header().Get("X-Request-Id") {
		t.Fatalf("error log %v", recs)
	}
}
