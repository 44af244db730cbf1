package admin

import (
	"context"
	"net/http"
	"time"
)

// RequestTimeout bounds the work of one request: its context ends then, so calls to Redis and
// NATS return, and the handler answers 503 unavailable.
const RequestTimeout = 30 * time.Second

// timeout gives each request a context that ends after d.
func timeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
