package admin

import (
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/go-chi/chi/v5/middleware"
)

// recoverPanics turns a panic in a handler into a 500 internal JSON error and an ERROR log
// with the stack, so one bad request cannot take the server down. http.ErrAbortHandler is
// passed on: it is how a handler aborts a response on purpose.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("admin handler panicked", "method", r.Method, "path", r.URL.Path,
				"request_id", middleware.GetReqID(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			s.writeError(w, r, fmt.Errorf("panic: %v", v))
		}()
		next.ServeHTTP(w, r)
	})
}
