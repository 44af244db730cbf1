package admin

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

// wantDecodeErr checks err is a 400 whose message contains want ("" for no error).
func wantDecodeErr(t *testing.T, name string, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || !strings.Contains(ae.message, want) {
		t.Errorf("%s: err = %v; want 400 %q", name, err, want)
	}
}

// TestDecodeReplayRequest proves every rule of POST /v1/replays bodies.
func TestDecodeReplayRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, given, wantErr string
		want                 adminapi.ReplayRequest
	}{
		{name: "range", given: `{"from":"2025-02-01T00:00:00Z","to":"2025-02-04T00:00:00Z"}`,
			want: adminapi.ReplayRequest{From: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 2, 4, 0, 0, 0, 0, time.UTC)}},
		{name: "zones and sub-millisecond digits", given: `{"from":"2025-02-01T01:00:00.0001239+01:00","to":"2025-03-01T12:00:00Z","types":["user.login"],"sinks":["datadog","lock"]}`,
			want: adminapi.ReplayRequest{From: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), To: t0, Types: []string{"user.login"}, Sinks: []string{"datadog", "lock"}}},
		{name: "no from", given: `{"to":"2025-02-04T00:00:00Z"}`, wantErr: "from is required"},
		{name: "no to", given: `{"from":"2025-02-04T00:00:00Z"}`, wantErr: "to is required"},
		{name: "empty object", given: `{}`, wantErr: "from is required"},
		{name: "null", given: `null`, wantErr: "from is required"},
		{name: "from after to", given: `{"from":"2025-02-04T00:00:00Z","to":"2025-02-01T00:00:00Z"}`, wantErr: "from must be before to"},
		{name: "from equals to", given: `{"from":"2025-02-04T00:00:00Z","to":"2025-02-04T00:00:00Z"}`, wantErr: "from must be before to"},
		{name: "within one millisecond", given: `{"from":"2025-02-04T00:00:00.0001Z","to":"2025-02-04T00:00:00.0009Z"}`, wantErr: "from must be before to"},
		{name: "future", given: `{"from":"2025-02-04T00:00:00Z","to":"2025-03-01T12:00:00.001Z"}`, wantErr: "to is in the future"},
		{name: "before 1970", given: `{"from":"1969-12-31T23:59:59Z","to":"2025-02-04T00:00:00Z"}`, wantErr: "before 1970"},
		{name: "empty type", given: `{"from":"2025-02-01T00:00:00Z","to":"2025-02-04T00:00:00Z","types":["a",""]}`, wantErr: "types[1] is empty"},
		{name: "type with a space", given: `{"from":"2025-02-01T00:00:00Z","to":"2025-02-04T00:00:00Z","types":["user.login "]}`, wantErr: `type "user.login " has white space`},
		{name: "type twice", given: `{"from":"2025-02-01T00:00:00Z","to":"2025-02-04T00:00:00Z","types":["a","a"]}`, wantErr: `type "a" given twice`},
		{name: "unknown sink", given: `{"from":"2025-02-01T00:00:00Z","to":"2025-02-04T00:00:00Z","sinks":["splunk"]}`,
			wantErr: `sinks: unknown sink "splunk" (want fluentd, datadog, lock)`},
		{name: "sink twice", given: `{"from":"2025-02-01T00:00:00Z","to":"2025-02-04T00:00:00Z","sinks":["lock","lock"]}`, wantErr: `"lock" given twice`},
		{name: "unknown field", given: `{"from":"2025-02-01T00:00:00Z","to":"2025-02-04T00:00:00Z","sink":"x"}`, wantErr: `unknown field "sink"`},
		{name: "bad JSON", given: `{"from":`, wantErr: "malformed JSON"},
	}
	for _, tt := range tests {
		got, err := decodeReplayRequest(strings.NewReader(tt.given), t0)
		wantDecodeErr(t, tt.name, err, tt.wantErr)
		if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v; want %+v", tt.name, got, tt.want)
		}
	}
}

// TestDecodeStartTimeRequest proves every rule of PUT /v1/start-time bodies.
func TestDecodeStartTimeRequest(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, given, wantErr string }{
		{"now", `{"start_time":"2025-03-01T12:00:00Z","confirm":true}`, ""},
		{"past", `{"start_time":"2024-01-01T00:00:00+02:00","confirm":true}`, ""},
		{"no confirm", `{"start_time":"2025-01-01T00:00:00Z"}`, "confirm must be true"},
		{"confirm false", `{"start_time":"2025-01-01T00:00:00Z","confirm":false}`, "confirm must be true"},
		{"confirm a string", `{"start_time":"2025-01-01T00:00:00Z","confirm":"yes"}`, `field "confirm": want true or false, not string`},
		{"no start time", `{"confirm":true}`, "start_time is required"},
		{"future", `{"start_time":"2025-03-01T12:00:01Z","confirm":true}`, "start_time is in the future"},
		{"before 1970", `{"start_time":"1900-01-01T00:00:00Z","confirm":true}`, "before 1970"},
		{"unknown field", `{"start_time":"2025-01-01T00:00:00Z","confirm":true,"force":true}`, `unknown field "force"`},
	}
	for _, tt := range tests {
		got, err := decodeStartTimeRequest(strings.NewReader(tt.given), t0)
		wantDecodeErr(t, tt.name, err, tt.wantErr)
		if tt.wantErr == "" && (got.StartTime.Location() != time.UTC || !got.Confirm) {
			t.Errorf("%s: %+v", tt.name, got)
		}
	}
}

// TestDecodeRedriveRequest proves every rule of POST /v1/dlq/redrive bodies.
func TestDecodeRedriveRequest(t *testing.T) {
	t.Parallel()
	many := "[" + strings.Repeat("1,", adminapi.MaxRedrive) + "1]"
	tests := []struct{ name, given, wantErr string }{
		{"ids", `{"ids":[1,2,3],"to_sink":"datadog","delete":false}`, ""},
		{"all filtered", `{"all":true,"sink":"fluentd","reason":"400"}`, ""},
		{"neither", `{}`, "give ids or all: true"},
		{"empty ids", `{"ids":[]}`, "give ids or all: true"},
		{"all false", `{"all":false}`, "give ids or all: true"},
		{"both", `{"ids":[1],"all":true}`, "not both"},
		{"zero id", `{"ids":[1,0]}`, "id 0"},
		{"negative id", `{"ids":[-1]}`, `field "ids": want a non-negative integer, not number -1`},
		{"id twice", `{"ids":[5,5]}`, "id 5 given twice"},
		{"too many ids", `{"ids":` + many + `}`, "1001 ids: at most 1000"},
		{"sink with ids", `{"ids":[1],"sink":"fluentd"}`, "sink and reason filter all"},
		{"reason with ids", `{"ids":[1],"reason":"x"}`, "sink and reason filter all"},
		{"unknown sink", `{"all":true,"sink":"s3"}`, `sink: unknown sink "s3"`},
		{"unknown to_sink", `{"ids":[1],"to_sink":"s3"}`, `to_sink: unknown sink "s3"`},
		{"long reason", `{"all":true,"reason":"` + strings.Repeat("r", 1025) + `"}`, "reason filter over 1024 bytes"},
		{"unknown field", `{"ids":[1],"force":true}`, `unknown field "force"`},
	}
	for _, tt := range tests {
		_, err := decodeRedriveRequest(strings.NewReader(tt.given))
		wantDecodeErr(t, tt.name, err, tt.wantErr)
	}
}

// TestParseDLQQuery proves the query rules of GET /v1/dlq.
func TestParseDLQQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		given   string
		want    stream.ListOptions
		wantErr string
	}{
		{"", stream.ListOptions{Limit: 100}, ""},
		{"sink=lock&reason=HTTP%20400&after=7&limit=1000", stream.ListOptions{Sink: "lock", Reason: "HTTP 400", After: 7, Limit: 1000}, ""},
		{"limit=1", stream.ListOptions{Limit: 1}, ""},
		{"limit=0", stream.ListOptions{}, `limit "0": want 1 to 1000`},
		{"limit=1001", stream.ListOptions{}, `limit "1001": want 1 to 1000`},
		{"limit=-5", stream.ListOptions{}, "want 1 to 1000"},
		{"limit=ten", stream.ListOptions{}, "want 1 to 1000"},
		{"after=-1", stream.ListOptions{}, `after "-1": want a DLQ id`},
		{"after=x", stream.ListOptions{}, `after "x"`},
		{"sink=s3", stream.ListOptions{}, `unknown sink "s3"`},
		{"page=2", stream.ListOptions{}, `unknown query parameter "page"`},
		{"limit=1&limit=2", stream.ListOptions{}, `"limit" given 2 times`},
		{"reason=" + strings.Repeat("r", 1025), stream.ListOptions{}, "over 1024 bytes"},
	}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.given)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseDLQQuery(q)
		wantDecodeErr(t, tt.given, err, tt.wantErr)
		if tt.wantErr == "" && got != tt.want {
			t.Errorf("%s: %+v; want %+v", tt.given, got, tt.want)
		}
	}
}

// TestParseDLQID proves DLQ ids are positive decimal integers.
func TestParseDLQID(t *testing.T) {
	t.Parallel()
	if id, err := parseDLQID("42"); err != nil || id != 42 {
		t.Fatalf("parseDLQID(42) = %d, %v", id, err)
	}
	for _, bad := range []string{"", "0", "-1", "+1", "1.5", "abc", "0x10", "18446744073709551616", " 1"} {
		_, err := parseDLQID(bad)
		wantDecodeErr(t, bad, err, "want a DLQ id (a positive integer)")
	}
}
