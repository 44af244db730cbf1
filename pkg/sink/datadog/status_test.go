package datadog

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/sink"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{name: "none", header: http.Header{}, want: 0},
		{name: "seconds", header: http.Header{"Retry-After": {"7"}}, want: 7 * time.Second},
		{name: "http date", header: http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, want: 90 * time.Second},
		{name: "date in the past", header: http.Header{"Retry-After": {now.Add(-time.Hour).Format(http.TimeFormat)}}, want: 0},
		{name: "rate limit reset", header: http.Header{"X-Ratelimit-Reset": {"12"}}, want: 12 * time.Second},
		{name: "Retry-After wins", header: http.Header{"Retry-After": {"3"}, "X-Ratelimit-Reset": {"12"}}, want: 3 * time.Second},
		{name: "capped", header: http.Header{"Retry-After": {"999999999999"}}, want: MaxRetryAfter},
		{name: "negative", header: http.Header{"Retry-After": {"-5"}}, want: 0},
		{name: "garbage", header: http.Header{"Retry-After": {"soon"}}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfter(tt.header, now); got != tt.want {
				t.Errorf("retryAfter = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnswerResult(t *testing.T) {
	tests := []struct {
		status      int
		wantOutcome sink.Outcome
		wantBlocked bool
	}{
		{202, sink.Delivered, false},
		{200, sink.Delivered, false},
		{400, sink.Rejected, false},
		{401, sink.Retry, true},
		{403, sink.Retry, true},
		{404, sink.Retry, true},
		{407, sink.Retry, true},
		{408, sink.Retry, false},
		{413, sink.Rejected, false},
		{422, sink.Rejected, false},
		{429, sink.Retry, false},
		{500, sink.Retry, false},
		{503, sink.Retry, false},
	}
	for _, tt := range tests {
		r := answer{status: tt.status, header: http.Header{}, body: []byte("{\"errors\":[\"bad\nthing\"]}")}.result()
		if r.Outcome != tt.wantOutcome || r.Blocked != tt.wantBlocked {
			t.Errorf("%d: %s blocked %t, want %s blocked %t", tt.status, r.Outcome, r.Blocked, tt.wantOutcome, tt.wantBlocked)
		}
		if r.Outcome != sink.Delivered && r.Reason == "" {
			t.Errorf("%d: no reason", tt.status)
		}
		if strings.Contains(r.Reason, "\n") {
			t.Errorf("%d: reason %q spans lines", tt.status, r.Reason)
		}
	}
}

func TestTransportErrorHidesTheURL(t *testing.T) {
	err := &url.Error{Op: "Post", URL: "https://secret-host.example/api/v2/logs", Err: errors.New("connection reset by peer")}
	r := answer{err: err}.result()
	if r.Outcome != sink.Retry || r.Blocked {
		t.Errorf("got %s blocked %t, want retry", r.Outcome, r.Blocked)
	}
	if strings.Contains(r.Reason, "secret-host") || !strings.Contains(r.Reason, "connection reset by peer") {
		t.Errorf("reason %q", r.Reason)
	}
}
