package fluentd

import (
	"bytes"
	"encoding/json"
	"net/url"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
)

// request is one POST of a batch: its URL and the batch indices of its events, in batch
// order.
type request struct {
	url   string
	idx   []int
	bytes int // the bodies' total length
}

// plan groups batch into requests: audit events to the audit URL, each session's events to
// its session URL, each request within the count and byte limits. It returns one series of
// requests per URL, in batch order, each series in order of first appearance. An event that
// cannot be sent gets a Rejected result here and joins no request.
func (s *Sink) plan(batch []event.Event, results []sink.Result) [][]request {
	var (
		series [][]request
		open   = map[string]int{} // URL → its index in series
	)
	for i, e := range batch {
		target, reason := s.target(e)
		if reason != "" {
			results[i] = sink.Result{Outcome: sink.Rejected, Reason: "fluentd: " + reason}
			continue
		}
		n, ok := open[target]
		if !ok {
			n = len(series)
			open[target] = n
			series = append(series, nil)
		}
		reqs := series[n]
		size := len(e.Body)
		if last := len(reqs) - 1; last < 0 || len(reqs[last].idx) >= s.batch || reqs[last].bytes+size > s.maxRequestBytes {
			reqs = append(reqs, request{url: target})
		}
		last := &reqs[len(reqs)-1]
		last.idx = append(last.idx, i)
		last.bytes += size
		series[n] = reqs
	}
	return series
}

// target returns the URL event e goes to, or why it cannot be sent.
func (s *Sink) target(e event.Event) (target, reason string) {
	if !isObject(e.Body) {
		return "", "the event body is not a JSON object"
	}
	switch e.Kind {
	case event.Audit:
		return s.auditURL, ""
	case event.Session:
		if e.SessionID == "" {
			return "", "a session event without a session id has no session URL"
		}
		return s.sessionURL + "." + url.PathEscape(e.SessionID) + ".log", ""
	}
	return "", "unknown event kind " + string(e.Kind)
}

// isObject reports whether body is one valid JSON object, as in_http requires of a record.
func isObject(body []byte) bool {
	trimmed := bytes.TrimSpace(body)
	return len(trimmed) > 1 && trimmed[0] == '{' && json.Valid(trimmed)
}

// encode writes the events of idx as a JSON array of their bodies, unchanged.
func encode(batch []event.Event, idx []int) []byte {
	n := 2 + len(idx)
	for _, i := range idx {
		n += len(batch[i].Body)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, '[')
	for k, i := range idx {
		if k > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, bytes.TrimSpace(batch[i].Body)...)
	}
	return append(buf, ']')
}
