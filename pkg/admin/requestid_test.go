package admin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5/middleware"
)

// TestRequestID proves every answer carries X-Request-Id: the client's when sane, a new one
// otherwise, and the handler sees the same id.
func TestRequestID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.get("/healthz", "")
	if res.header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id made up")
	}
	if other := e.get("/healthz", ""); other.header.Get("X-Request-Id") == res.header.Get("X-Request-Id") {
		t.Fatal("two requests got one id")
	}
	res = e.do(request{method: http.MethodGet, path: "/v1/status", token: readToken, header: http.Header{"X-Request-Id": {"trace-42"}}})
	if got := res.header.Get("X-Request-Id"); got != "trace-42" {
		t.Fatalf("X-Request-Id %q; want the client's trace-42", got)
	}
	for _, bad := range []string{strings.Repeat("x", maxRequestIDLen+1), "two words", "naïve"} {
		res := e.do(request{method: http.MethodGet, path: "/healthz", header: http.Header{"X-Request-Id": {bad}}})
		if got := res.header.Get("X-Request-Id"); got == "" || got == bad {
			t.Errorf("client id %q: answered %q; want a new one", bad, got)
		}
	}

	var seen string
	h := requestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = middleware.GetReqID(r.Context()) }))
	rec := newRecorder(h, http.MethodGet, "/", nil)
	if seen == "" || rec.Header().Get("X-Request-Id") != seen {
		t.Fatalf("handler saw %q, answer says %q", seen, rec.Header().Get("X-Request-Id"))
	}
}
