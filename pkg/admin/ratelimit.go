package admin

import (
	"net/http"
	"time"

	"github.com/go-chi/httprate"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// Rate limit of the /v1 routes per client IP: RateLimit requests in any RateWindow (a
// sliding window), that is 20 a second on average with bursts of up to 100.
const (
	RateLimit  = 100
	RateWindow = 5 * time.Second
)

// rateLimit limits the requests of each client IP (the connection's address; X-Forwarded-For
// is not trusted) to limit per window. A request over the limit gets 429 rate_limited with
// Retry-After and the X-RateLimit-* headers.
func (s *Server) rateLimit(limit int, window time.Duration) func(http.Handler) http.Handler {
	return httprate.Limit(limit, window,
		httprate.WithKeyByIP(),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			s.writeError(w, r, newAPIError(http.StatusTooManyRequests, adminapi.CodeRateLimited,
				"rate limited: over %d requests in %v from one address; retry after %s seconds",
				limit, window, w.Header().Get("Retry-After")))
		}))
}
