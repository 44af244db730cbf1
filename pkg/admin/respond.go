package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// apiError is an error that answers with its own status, code and message. Handlers return
// it for what the client got wrong; every other error is mapped by errorResponse.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func newAPIError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, adminapi.CodeBadRequest, format, args...)
}

func notFound(format string, args ...any) *apiError {
	return newAPIError(http.StatusNotFound, adminapi.CodeNotFound, format, args...)
}

func conflict(format string, args ...any) *apiError {
	return newAPIError(http.StatusConflict, adminapi.CodeConflict, format, args...)
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away: nothing to tell it
}

// writeError answers err as an adminapi.ErrorBody. Errors the client did not cause are logged
// with the request id, which the message names so that an operator can find the log line.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := errorResponse(err)
	if status >= http.StatusInternalServerError {
		id := middleware.GetReqID(r.Context())
		s.log.Error("admin request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", id, "status", status, "err", err)
		if status == http.StatusInternalServerError {
			body.Message = "internal error; the server log has it under request id " + id
		}
	}
	if status == http.StatusUnauthorized {
		challenge := `Bearer realm="auditpipe"`
		if errors.Is(err, errBadToken) {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	noteOutcome(r, body.Message)
	writeJSON(w, status, adminapi.ErrorBody{Error: body})
}

// errorResponse maps an error to its status and body: an apiError as it is, an oversize body
// to 413, an argument the window store refuses to 400, Redis or NATS not answering (or the
// request timing out) to 503, anything else to 500.
func errorResponse(err error) (int, adminapi.Error) {
	if e, ok := errors.AsType[*apiError](err); ok {
		return e.status, adminapi.Error{Code: e.code, Message: e.message, Status: e.status}
	}
	if e, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return http.StatusRequestEntityTooLarge, adminapi.Error{Code: adminapi.CodeTooLarge,
			Message: fmt.Sprintf("request body over %d bytes", e.Limit), Status: http.StatusRequestEntityTooLarge}
	}
	if errors.Is(err, window.ErrInvalid) {
		return http.StatusBadRequest, adminapi.Error{Code: adminapi.CodeBadRequest,
			Message: err.Error(), Status: http.StatusBadRequest}
	}
	if unavailable(err) {
		return http.StatusServiceUnavailable, adminapi.Error{Code: adminapi.CodeUnavailable,
			Message: "unavailable: " + err.Error(), Status: http.StatusServiceUnavailable}
	}
	return http.StatusInternalServerError, adminapi.Error{Code: adminapi.CodeInternal,
		Message: err.Error(), Status: http.StatusInternalServerError}
}

// unavailable reports whether err means Redis or NATS did not answer in time (or at all).
func unavailable(err error) bool {
	for _, target := range []error{
		context.DeadlineExceeded, context.Canceled, redis.ErrClosed, redis.ErrPoolTimeout,
		nats.ErrTimeout, nats.ErrConnectionClosed, nats.ErrNoResponders, nats.ErrDisconnected,
		nats.ErrConnectionDraining, jetstream.ErrJetStreamNotEnabled, jetstream.ErrJetStreamNotEnabledForAccount,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	_, isNet := errors.AsType[net.Error](err)
	return isNet
}
