package admin

import (
	"net/http"

	"github.com/go-chi/chi/v5/middleware"
)

// maxRequestIDLen bounds a request id a client sends.
const maxRequestIDLen = 128

// requestID gives every request an id, which the logs carry and the response echoes in
// X-Request-Id: the client's X-Request-Id when it is at most 128 printable ASCII characters,
// else one chi's middleware.RequestID makes (host/random-counter). Handlers read it with
// middleware.GetReqID.
func requestID(next http.Handler) http.Handler {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(middleware.RequestIDHeader, middleware.GetReqID(r.Context()))
		next.ServeHTTP(w, r)
	})
	withID := middleware.RequestID(echo)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get(middleware.RequestIDHeader); id != "" && !printableASCII(id, maxRequestIDLen) {
			r.Header.Del(middleware.RequestIDHeader)
		}
		withID.ServeHTTP(w, r)
	})
}

// printableASCII reports whether s is at most max bytes of printable ASCII.
func printableASCII(s string, max int) bool {
	if len(s) > max {
		return false
	}
	for i := range len(s) {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
