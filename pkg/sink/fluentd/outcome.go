package fluentd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/auditpipe/auditpipe/pkg/sink"
)

// outcome maps Fluentd's answer to the result of the request's events (413 is the caller's:
// it splits the request).
func outcome(resp *http.Response, excerpt []byte) sink.Result {
	code := resp.StatusCode
	reason := "fluentd answered " + resp.Status
	if e := clean(excerpt); e != "" {
		reason += ": " + e
	}
	switch {
	case code >= 200 && code < 300:
		return sink.Result{Outcome: sink.Delivered}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return sink.Result{Outcome: sink.Retry, Blocked: true, Reason: reason + " (the client is refused: check the client certificate and any proxy before fluentd)"}
	case code >= 300 && code < 400:
		return sink.Result{Outcome: sink.Retry, Blocked: true, Reason: reason + " (a redirect: set url and session-url to the final address)"}
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return sink.Result{Outcome: sink.Retry, Reason: reason, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	case code >= 400:
		return sink.Result{Outcome: sink.Rejected, Reason: reason}
	}
	return sink.Result{Outcome: sink.Retry, Reason: reason + " (unexpected)"}
}

// failure maps a request that got no answer to the result of its events. ctx is Deliver's,
// rctx the request's own (ctx with the request timeout).
func failure(ctx, rctx context.Context, timeout time.Duration, err error) sink.Result {
	var (
		verify *tls.CertificateVerificationError
		header tls.RecordHeaderError
	)
	switch {
	case ctx.Err() != nil:
		return sink.Result{Outcome: sink.Retry, Reason: "fluentd: no answer before the delivery was cancelled: " + ctx.Err().Error()}
	case rctx.Err() != nil:
		return sink.Result{Outcome: sink.Retry, Reason: fmt.Sprintf("fluentd: no answer within %v", timeout)}
	case errors.As(err, &verify):
		return sink.Result{Outcome: sink.Retry, Blocked: true, Reason: "fluentd's TLS certificate is not trusted (check ca and the URL's host): " + err.Error()}
	case errors.As(err, &header):
		return sink.Result{Outcome: sink.Retry, Blocked: true, Reason: "fluentd does not speak TLS at this address: " + err.Error()}
	case tlsRefusal(err):
		return refused(err)
	}
	return sink.Result{Outcome: sink.Retry, Reason: "fluentd: " + err.Error()}
}

// refused is the result of a TLS handshake that Fluentd refused, mostly for the client
// certificate.
func refused(err error) sink.Result {
	return sink.Result{Outcome: sink.Retry, Blocked: true, Reason: "fluentd refused the TLS handshake (check cert and key): " + err.Error()}
}

// retryAfter reads a Retry-After header: seconds or an HTTP date; zero when absent or past.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// clean makes an answer's body fit in one log line: valid UTF-8, no control characters, at
// most 200 characters.
func clean(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}
