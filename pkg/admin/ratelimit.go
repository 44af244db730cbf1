package admin

import (
	"net"
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
	return httprate.LimitBy(limit, window, clientIP,
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			s.writeError(w, r, newAPIError(http.StatusTooManyRequests, adminapi.CodeRateLimited,
				"rate limited: over %d requests in %v from one address; retry after %s seconds",
				limit, window, w.Header().Get("Retry-After")))
		}))
}

// clientIP is the rate-limit key: the address of the TCP peer (set by net/http, never from a
// header), IPv6 clients bucketed by their /64. Behind a reverse proxy every client shares the
// proxy's bucket; the admin API is meant to be reached directly (or the proxy limits).
func clientIP(r *http.Request) (string, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return httprate.CanonicalizeIP(host), nil
}
