package admin

import (
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

// The request decoders below are pure: body (or query) and the time in, a valid request or a
// *apiError (400) out, or the *http.MaxBytesError of an oversize body. A request they accept
// satisfies every rule its doc comment states; FuzzDecode* holds them to it.

// knownSinks are the sinks a request may name.
var knownSinks = []string{config.SinkFluentd, config.SinkDatadog, config.SinkLock}

// earliest is the earliest time a request may name: older times are mistakes, and keeping
// ranges within a few decades keeps their durations far from overflowing.
var earliest = time.Unix(0, 0).UTC()

// maxReasonFilter bounds a reason filter (dead-letter reasons are at most 1 KiB).
const maxReasonFilter = 1024

// decodeReplayRequest decodes POST /v1/replays: From and To are required, From is before To
// (to the millisecond, which the window store keeps), neither before 1970, To not after now;
// Types are non-empty, without white space, and distinct; Sinks are distinct known sinks.
// Times come back in UTC, truncated to the millisecond.
func decodeReplayRequest(body io.Reader, now time.Time) (adminapi.ReplayRequest, error) {
	var req adminapi.ReplayRequest
	if err := decodeJSON(body, &req); err != nil {
		return adminapi.ReplayRequest{}, err
	}
	req.From, req.To = utcMillis(req.From), utcMillis(req.To)
	switch {
	case req.From.IsZero():
		return adminapi.ReplayRequest{}, badRequest("from is required")
	case req.To.IsZero():
		return adminapi.ReplayRequest{}, badRequest("to is required")
	case req.From.Before(earliest):
		return adminapi.ReplayRequest{}, badRequest("from %s is before 1970", req.From.Format(time.RFC3339))
	case !req.From.Before(req.To):
		return adminapi.ReplayRequest{}, badRequest("from must be before to")
	case req.To.After(now):
		return adminapi.ReplayRequest{}, badRequest("to is in the future (now is %s)", now.UTC().Format(time.RFC3339))
	}
	if err := validTypes(req.Types); err != nil {
		return adminapi.ReplayRequest{}, err
	}
	if err := validSinks("sinks", req.Sinks); err != nil {
		return adminapi.ReplayRequest{}, err
	}
	return req, nil
}

// decodeStartTimeRequest decodes PUT /v1/start-time: Confirm is true, StartTime is set, not
// before 1970 and not after now. StartTime comes back in UTC, truncated to the millisecond.
func decodeStartTimeRequest(body io.Reader, now time.Time) (adminapi.StartTimeRequest, error) {
	var req adminapi.StartTimeRequest
	if err := decodeJSON(body, &req); err != nil {
		return adminapi.StartTimeRequest{}, err
	}
	req.StartTime = utcMillis(req.StartTime)
	switch {
	case !req.Confirm:
		return adminapi.StartTimeRequest{}, badRequest("confirm must be true: the reset withdraws the current epoch's unfinished windows")
	case req.StartTime.IsZero():
		return adminapi.StartTimeRequest{}, badRequest("start_time is required")
	case req.StartTime.Before(earliest):
		return adminapi.StartTimeRequest{}, badRequest("start_time %s is before 1970", req.StartTime.Format(time.RFC3339))
	case req.StartTime.After(now):
		return adminapi.StartTimeRequest{}, badRequest("start_time is in the future (now is %s)", now.UTC().Format(time.RFC3339))
	}
	return req, nil
}

// decodeRedriveRequest decodes POST /v1/dlq/redrive: exactly one of IDs and All; IDs are
// distinct, positive and at most adminapi.MaxRedrive; Sink and Reason only with All; Sink and
// ToSink, when set, are known sinks; Reason is at most 1 KiB.
func decodeRedriveRequest(body io.Reader) (adminapi.RedriveRequest, error) {
	var req adminapi.RedriveRequest
	if err := decodeJSON(body, &req); err != nil {
		return adminapi.RedriveRequest{}, err
	}
	switch {
	case len(req.IDs) == 0 && !req.All:
		return adminapi.RedriveRequest{}, badRequest("give ids or all: true")
	case len(req.IDs) > 0 && req.All:
		return adminapi.RedriveRequest{}, badRequest("give ids or all: true, not both")
	case len(req.IDs) > adminapi.MaxRedrive:
		return adminapi.RedriveRequest{}, badRequest("%d ids: at most %d per request", len(req.IDs), adminapi.MaxRedrive)
	case !req.All && (req.Sink != "" || req.Reason != ""):
		return adminapi.RedriveRequest{}, badRequest("sink and reason filter all: true; with ids they do not apply")
	case len(req.Reason) > maxReasonFilter:
		return adminapi.RedriveRequest{}, badRequest("reason filter over %d bytes", maxReasonFilter)
	}
	seen := make(map[uint64]bool, len(req.IDs))
	for _, id := range req.IDs {
		if id == 0 {
			return adminapi.RedriveRequest{}, badRequest("id 0: DLQ ids start at 1")
		}
		if seen[id] {
			return adminapi.RedriveRequest{}, badRequest("id %d given twice", id)
		}
		seen[id] = true
	}
	if req.Sink != "" && !slices.Contains(knownSinks, req.Sink) {
		return adminapi.RedriveRequest{}, unknownSink("sink", req.Sink)
	}
	if req.ToSink != "" && !slices.Contains(knownSinks, req.ToSink) {
		return adminapi.RedriveRequest{}, unknownSink("to_sink", req.ToSink)
	}
	return req, nil
}

// dlqQueryParams are the query parameters of GET /v1/dlq.
var dlqQueryParams = []string{"sink", "reason", "after", "limit"}

// defaultDLQLimit is the page size of GET /v1/dlq without limit.
const defaultDLQLimit = 100

// parseDLQQuery parses the query of GET /v1/dlq: only sink, reason, after and limit, each at
// most once; sink a known sink; reason at most 1 KiB; after a non-negative integer; limit 1 to
// 1000 (100 when absent).
func parseDLQQuery(q url.Values) (stream.ListOptions, error) {
	for name, vals := range q {
		if !slices.Contains(dlqQueryParams, name) {
			return stream.ListOptions{}, badRequest("unknown query parameter %q (want sink, reason, after or limit)", name)
		}
		if len(vals) > 1 {
			return stream.ListOptions{}, badRequest("query parameter %q given %d times", name, len(vals))
		}
	}
	o := stream.ListOptions{Sink: q.Get("sink"), Reason: q.Get("reason"), Limit: defaultDLQLimit}
	if o.Sink != "" && !slices.Contains(knownSinks, o.Sink) {
		return stream.ListOptions{}, unknownSink("sink", o.Sink)
	}
	if len(o.Reason) > maxReasonFilter {
		return stream.ListOptions{}, badRequest("reason filter over %d bytes", maxReasonFilter)
	}
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return stream.ListOptions{}, badRequest("after %q: want a DLQ id (a non-negative integer)", s)
		}
		o.After = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return stream.ListOptions{}, badRequest("limit %q: want 1 to 1000", s)
		}
		o.Limit = n
	}
	return o, nil
}

// parseDLQID parses the {id} of DELETE /v1/dlq/{id}: a positive decimal integer.
func parseDLQID(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, badRequest("id %q: want a DLQ id (a positive integer)", s)
	}
	return n, nil
}

// validTypes checks replay event types: each non-empty, without white space (no Teleport
// type has any, so a type with some would silently match nothing), and given once.
func validTypes(types []string) error {
	for i, t := range types {
		if t == "" {
			return badRequest("types[%d] is empty", i)
		}
		if strings.ContainsFunc(t, unicode.IsSpace) {
			return badRequest("type %q has white space", t)
		}
		if slices.Contains(types[:i], t) {
			return badRequest("type %q given twice", t)
		}
	}
	return nil
}

// validSinks checks a list of sink names: each known and given once.
func validSinks(field string, sinks []string) error {
	for i, s := range sinks {
		if !slices.Contains(knownSinks, s) {
			return unknownSink(field, s)
		}
		if slices.Contains(sinks[:i], s) {
			return badRequest("%s: %q given twice", field, s)
		}
	}
	return nil
}

func unknownSink(field, sink string) error {
	return badRequest("%s: unknown sink %q (want %s)", field, sink, strings.Join(knownSinks, ", "))
}

// utcMillis is t in UTC, truncated to the millisecond; the zero time stays zero.
func utcMillis(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Millisecond)
}
