package datadog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/auditpipe/auditpipe/pkg/sink"
)

// MaxRetryAfter caps the wait the intake can ask for, so that a wrong header cannot hold a
// sink back for days.
const MaxRetryAfter = 15 * time.Minute

// answerBytes bounds how much of the intake's error answer goes into a Reason.
const answerBytes = 200

// answer is what became of one request: the status, or the error when no answer came.
type answer struct {
	status int
	header http.Header
	body   []byte
	err    error
}

// result maps an answer to the Result of every event of its request. A 413 maps to
// Rejected here; the caller splits the request first (see the package documentation).
func (a answer) result() sink.Result {
	if a.status == 0 {
		return sink.Result{Outcome: sink.Retry, Reason: "datadog: no answer from the intake: " + transportError(a.err)}
	}
	reason := fmt.Sprintf("datadog: the intake answered %d %s", a.status, http.StatusText(a.status))
	switch {
	case a.status >= 200 && a.status < 300:
		return sink.Result{Outcome: sink.Delivered}
	case a.status == http.StatusUnauthorized || a.status == http.StatusForbidden:
		return sink.Result{Outcome: sink.Retry, Blocked: true,
			Reason: reason + ": the API key was refused; set a valid key in DD_API_KEY or forward.datadog.api-key-file"}
	case a.status == http.StatusNotFound || a.status == http.StatusProxyAuthRequired:
		return sink.Result{Outcome: sink.Retry, Blocked: true,
			Reason: reason + ": check forward.datadog.url, forward.datadog.site and the proxy"}
	case a.status == http.StatusTooManyRequests || a.status == http.StatusRequestTimeout || a.status >= 500:
		return sink.Result{Outcome: sink.Retry, RetryAfter: retryAfter(a.header, time.Now()), Reason: reason}
	}
	if detail := excerpt(a.body); detail != "" {
		reason += ": " + detail
	}
	return sink.Result{Outcome: sink.Rejected, Reason: reason}
}

// retryAfter returns the wait the intake asked for: Retry-After in seconds or as an HTTP
// date, else X-Ratelimit-Reset in seconds; zero when there is none, capped at MaxRetryAfter.
func retryAfter(h http.Header, now time.Time) time.Duration {
	var wait time.Duration
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
			wait = seconds(secs)
		} else if t, err := http.ParseTime(v); err == nil {
			wait = t.Sub(now)
		}
	} else if v := strings.TrimSpace(h.Get("X-Ratelimit-Reset")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
			wait = seconds(secs)
		}
	}
	return min(max(wait, 0), MaxRetryAfter)
}

// seconds converts without overflowing: anything past MaxRetryAfter is capped later anyway.
func seconds(n int64) time.Duration {
	if n > int64(MaxRetryAfter/time.Second) {
		return MaxRetryAfter
	}
	return time.Duration(n) * time.Second
}

// transportError describes a request that got no answer without the URL net/http puts in its
// errors: the message stays short and holds nothing from the configuration.
func transportError(err error) string {
	switch {
	case err == nil:
		return "no response"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + " " + intakePath + ": " + ue.Err.Error()
	}
	return err.Error()
}

// excerpt returns the start of an error answer on one line, printable characters only.
func excerpt(body []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, cut(string(body), answerBytes))
	return strings.Join(strings.Fields(s), " ")
}
