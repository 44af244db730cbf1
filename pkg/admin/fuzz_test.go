package admin

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// The fuzz tests feed the request decoders anything: they must never panic, must answer
// every refusal with a 400 (or 413) *apiError, and must never accept a request that breaks a
// rule. `go test` runs their seeds; `go test -fuzz FuzzDecodeReplayRequest` explores.

// checkRefusal fails unless err is a client error.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	status, body := errorResponse(err)
	if status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
		t.Fatalf("refused with %d %+v; want 400 or 413", status, body)
	}
}

func FuzzDecodeReplayRequest(f *testing.F) {
	for _, seed := range []string{
		`{"from":"2025-02-01T00:00:00Z","to":"2025-02-04T00:00:00Z"}`,
		`{"from":"2025-02-01T00:00:00Z","to":"2025-02-04T00:00:00Z","types":["a","b"],"sinks":["fluentd"]}`,
		`{"from":"2025-02-04T00:00:00Z","to":"2025-02-01T00:00:00Z"}`,
		`{"from":"1970-01-01T00:00:00Z","to":"2025-03-01T12:00:00Z","sinks":["lock","datadog"]}`,
		`{"from":"2025-02-01T00:00:00.0001Z","to":"2025-02-01T00:00:00.0002Z"}`,
		`{"from":"2025-02-01T00:00:00Z","to":"2099-01-01T00:00:00Z"}`,
		`{"types":[""]}`, `{}`, `[]`, `null`, `{"x":1}`, `{} {}`, ``, `{"from":"`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := decodeReplayRequest(strings.NewReader(body), t0)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		switch {
		case req.From.IsZero() || req.To.IsZero():
			t.Fatalf("accepted a range without from or to: %+v", req)
		case !req.From.Before(req.To):
			t.Fatalf("accepted from %v not before to %v", req.From, req.To)
		case req.To.After(t0):
			t.Fatalf("accepted to %v in the future", req.To)
		case req.From.Before(earliest):
			t.Fatalf("accepted from %v before 1970", req.From)
		case req.From.Location() != time.UTC || req.To.Location() != time.UTC:
			t.Fatalf("times not in UTC: %+v", req)
		}
		for i, typ := range req.Types {
			if typ == "" || strings.ContainsFunc(typ, unicode.IsSpace) || slices.Contains(req.Types[:i], typ) {
				t.Fatalf("accepted types %q", req.Types)
			}
		}
		for i, s := range req.Sinks {
			if !slices.Contains(knownSinks, s) || slices.Contains(req.Sinks[:i], s) {
				t.Fatalf("accepted sinks %q", req.Sinks)
			}
		}
		size := replayWindowSize(req.From, req.To, 24*time.Hour)
		if n := (req.To.Sub(req.From) + size - 1) / size; n > maxReplayWindows || n < 1 {
			t.Fatalf("range %v–%v makes %d windows of %v", req.From, req.To, n, size)
		}
	})
}

func FuzzDecodeStartTimeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"start_time":"2025-01-01T00:00:00Z","confirm":true}`,
		`{"start_time":"2025-01-01T00:00:00Z","confirm":false}`,
		`{"start_time":"2030-01-01T00:00:00Z","confirm":true}`,
		`{"confirm":true}`, `{"start_time":null,"confirm":true}`, `{"confirm":1}`, `{}`, ``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := decodeStartTimeRequest(strings.NewReader(body), t0)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if !req.Confirm || req.StartTime.IsZero() || req.StartTime.After(t0) || req.StartTime.Before(earliest) {
			t.Fatalf("accepted %+v", req)
		}
	})
}

func FuzzDecodeRedriveRequest(f *testing.F) {
	for _, seed := range []string{
		`{"ids":[1,2,3]}`, `{"ids":[1],"to_sink":"lock","delete":false}`, `{"all":true,"sink":"datadog","reason":"429"}`,
		`{"ids":[0]}`, `{"ids":[2,2]}`, `{"ids":[1],"all":true}`, `{"all":true,"to_sink":"x"}`, `{}`, `{"ids":null}`, ``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := decodeRedriveRequest(strings.NewReader(body))
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if (len(req.IDs) > 0) == req.All || len(req.IDs) > adminapi.MaxRedrive {
			t.Fatalf("accepted ids %v with all %v", req.IDs, req.All)
		}
		if !req.All && (req.Sink != "" || req.Reason != "") {
			t.Fatalf("accepted filters without all: %+v", req)
		}
		for i, id := range req.IDs {
			if id == 0 || slices.Contains(req.IDs[:i], id) {
				t.Fatalf("accepted ids %v", req.IDs)
			}
		}
		for _, s := range []string{req.Sink, req.ToSink} {
			if s != "" && !slices.Contains(knownSinks, s) {
				t.Fatalf("accepted sink %q", s)
			}
		}
	})
}

func FuzzParseDLQQuery(f *testing.F) {
	for _, seed := range []string{"", "sink=fluentd&limit=10&after=3", "limit=0", "limit=99999", "x=1", "after=-1", "sink=a&sink=b", "reason=%zz"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // the handler refuses a malformed query before parsing it
		}
		o, err := parseDLQQuery(q)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != http.StatusBadRequest {
				t.Fatalf("refused with %v; want 400", err)
			}
			return
		}
		if o.Limit < 1 || o.Limit > 1000 || (o.Sink != "" && !slices.Contains(knownSinks, o.Sink)) || len(o.Reason) > maxReasonFilter {
			t.Fatalf("accepted %+v from %q", o, raw)
		}
		for name, vals := range q {
			if !slices.Contains(dlqQueryParams, name) || len(vals) > 1 {
				t.Fatalf("accepted parameter %q=%q", name, vals)
			}
		}
	})
}
