package admin

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// routes builds the router: the routes of the adminapi package documentation, each behind
// the middleware that applies to it.
//
// Every request: request id → request log → metrics → panic recovery. /healthz, /readyz and
// /metrics end there. /v1: rate limit per client IP → request timeout; /v1/openapi.json ends
// there; the other /v1 routes: authentication (401), and for writes the audit log and the
// admin scope (403). Unknown paths get 404 and known paths with another method 405, both as
// JSON errors.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(requestID, s.logRequests, s.metrics.measure, s.recoverPanics)
	r.NotFound(s.notFoundHandler)
	r.MethodNotAllowed(s.methodNotAllowedHandler(r))

	health := s.health.Handler()
	r.Method(http.MethodGet, "/healthz", health)
	r.Method(http.MethodGet, "/readyz", health)
	r.Method(http.MethodGet, "/metrics", health)

	r.Route("/v1", func(r chi.Router) {
		r.Use(s.rateLimit(s.rateLimitN, s.rateWindow), timeout(RequestTimeout))
		r.Get("/openapi.json", serveOpenAPI)
		r.Group(func(r chi.Router) {
			r.Use(s.authenticate)
			r.Get("/status", s.getStatus)
			r.Get("/replays", s.listReplays)
			r.Get("/replays/{id}", s.getReplay)
			r.Get("/dlq", s.listDLQ)
			r.Group(func(r chi.Router) {
				r.Use(s.audit, s.requireAdmin)
				r.Post("/replays", s.createReplay)
				r.Delete("/replays/{id}", s.cancelReplay)
				r.Put("/start-time", s.resetStartTime)
				r.Post("/ingest/pause", s.setPaused(true))
				r.Post("/ingest/resume", s.setPaused(false))
				r.Post("/dlq/redrive", s.redriveDLQ)
				r.Delete("/dlq/{id}", s.deleteDLQ)
			})
		})
	})
	return r
}
