package fluentd

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/sink"
)

func TestOutcome(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		header      http.Header
		body        string
		want        sink.Outcome
		wantBlocked bool
		wantAfter   time.Duration
		wantReason  string
	}{
		{name: "200", status: 200, want: sink.Delivered},
		{name: "204", status: 204, want: sink.Delivered},
		{name: "400 with excerpt", status: 400, body: "400 Bad Request\n\x00bad\tjson", want: sink.Rejected, wantReason: "fluentd answered 400 Bad Request: 400 Bad Request bad json"},
		{name: "404", status: 404, want: sink.Rejected, wantReason: "404"},
		{name: "401", status: 401, want: sink.Retry, wantBlocked: true, wantReason: "client is refused"},
		{name: "403", status: 403, want: sink.Retry, wantBlocked: true, wantReason: "client is refused"},
		{name: "redirect", status: 307, want: sink.Retry, wantBlocked: true, wantReason: "redirect"},
		{name: "408", status: 408, want: sink.Retry},
		{name: "429 with seconds", status: 429, header: http.Header{"Retry-After": {"7"}}, want: sink.Retry, wantAfter: 7 * time.Second},
		{name: "500", status: 500, want: sink.Retry},
		{name: "503 with bad retry-after", status: 503, header: http.Header{"Retry-After": {"soon"}}, want: sink.Retry},
		{name: "long body is cut", status: 400, body: strings.Repeat("é", 400), want: sink.Rejected, wantReason: strings.Repeat("é", 200) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Status: strconv.Itoa(tt.status) + " " + http.StatusText(tt.status), Header: tt.header}
			got := outcome(resp, []byte(tt.body))
			if got.Outcome != tt.want || got.Blocked != tt.wantBlocked || got.RetryAfter != tt.wantAfter {
				t.Errorf("got %s (blocked %t, after %v), want %s (blocked %t, after %v)", got.Outcome, got.Blocked, got.RetryAfter, tt.want, tt.wantBlocked, tt.wantAfter)
			}
			if got.Outcome != sink.Delivered && !strings.Contains(got.Reason, tt.wantReason) {
				t.Errorf("reason %q does not hold %q", got.Reason, tt.wantReason)
			}
		})
	}
}

func TestRetryAfterDate(t *testing.T) {
	at := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	if d := retryAfter(at); d < 80*time.Second || d > 90*time.Second {
		t.Errorf("retryAfter(%q) = %v, want about 90s", at, d)
	}
	if d := retryAfter(time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat)); d != 0 {
		t.Errorf("a past date gives %v, want 0", d)
	}
}
