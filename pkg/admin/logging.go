package admin

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// logRequests logs every request once it is answered: method, route pattern, path, status,
// duration, request id, who made it (once authenticated) and the client address. Requests of
// the probes and the scraper (/healthz, /readyz, /metrics) log at DEBUG, the rest at INFO.
// It also gives the request the requestState that later middleware and handlers fill in.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r, st := withRequestState(r)
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		level := slog.LevelInfo
		if _, ok := unauthenticatedPaths[r.URL.Path]; ok {
			level = slog.LevelDebug
		}
		s.log.LogAttrs(r.Context(), level, "admin request",
			slog.String("method", r.Method),
			slog.String("route", routePattern(r)),
			slog.String("path", r.URL.Path),
			slog.Int("status", statusOf(ww)),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", middleware.GetReqID(r.Context())),
			slog.String("who", st.who),
			slog.String("remote", r.RemoteAddr))
	})
}

// routePattern is the chi pattern the request matched ("/v1/replays/{id}"), or "unmatched".
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

// statusOf is the status a handler answered; 200 when it wrote nothing.
func statusOf(ww middleware.WrapResponseWriter) int {
	if ww.Status() == 0 {
		return http.StatusOK
	}
	return ww.Status()
}
