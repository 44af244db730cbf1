package admin

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// TestRateLimit proves the production limit: a burst of more than RateLimit requests from one
// address gets 429 rate_limited with Retry-After, while the probes are never limited.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withRateLimit)
	var limited *response
	for i := range RateLimit + 50 {
		res := e.get("/v1/openapi.json", "")
		if res.status == http.StatusTooManyRequests {
			limited = &res
			break
		}
		if res.status != http.StatusOK {
			t.Fatalf("request %d: %d", i, res.status)
		}
		if i == 0 && res.header.Get("X-RateLimit-Limit") != strconv.Itoa(RateLimit) {
			t.Fatalf("X-RateLimit-Limit %q; want %d", res.header.Get("X-RateLimit-Limit"), RateLimit)
		}
	}
	if limited == nil {
		t.Fatalf("%d requests at once were not limited", RateLimit+50)
	}
	limited.wantError(t, http.StatusTooManyRequests, adminapi.CodeRateLimited)
	if limited.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// Authenticated routes share the limit; the probes do not.
	e.get("/v1/status", readToken).wantError(t, http.StatusTooManyRequests, adminapi.CodeRateLimited)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if res := e.get(p, ""); res.status != http.StatusOK {
			t.Errorf("%s while limited: %d", p, res.status)
		}
	}
}
