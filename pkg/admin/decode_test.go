package admin

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// TestDecodeJSON proves the JSON rules every body follows, with the message each breach gets.
func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, given, wantErr string
	}{
		{"object", `{"from":"2025-01-01T00:00:00Z","types":["a"]}`, ""},
		{"spaces after", "{}\n \t", ""},
		{"empty", "", "empty body: want a JSON object"},
		{"unknown field", `{"from":"2025-01-01T00:00:00Z","x":1}`, `unknown field "x"`},
		{"trailing object", `{}{}`, "trailing data after the JSON object"},
		{"trailing garbage", `{} x`, "trailing data after the JSON object"},
		{"syntax", `{"from":}`, "malformed JSON at byte 9"},
		{"cut short", `{"from":"2025`, "malformed JSON: unexpected end of the body"},
		{"array", `[]`, "want a JSON object, not array"},
		{"wrong type", `{"types":"a"}`, `field "types": want an array, not string`},
		{"wrong item type", `{"types":[1]}`, `field "types": want a string, not number`},
		{"bad time", `{"from":"yesterday"}`, `bad time "yesterday": want RFC 3339`},
		{"time not a string", `{"from":5}`, "bad time: want an RFC 3339 string"},
		{"month 13", `{"from":"2025-13-01T00:00:00Z"}`, `bad time "2025-13-01T00:00:00Z"`},
	}
	for _, tt := range tests {
		var v adminapi.ReplayRequest
		err := decodeJSON(strings.NewReader(tt.given), &v)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var ae *apiError
		if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || !strings.Contains(ae.message, tt.wantErr) {
			t.Errorf("%s: err = %v; want 400 %q", tt.name, err, tt.wantErr)
		}
	}
}

// TestRequestBody proves the Content-Type check (415) and the size limit (413, also for a
// body whose JSON ends before the limit but whose trailing bytes pass it).
func TestRequestBody(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json-seq", "application/json;;"} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		_, err := requestBody(httptest.NewRecorder(), r)
		if status, body := errorResponse(err); status != http.StatusUnsupportedMediaType || body.Code != adminapi.CodeUnsupportedMediaType {
			t.Errorf("Content-Type %q: %d %+v; want 415", ct, status, body)
		}
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON"} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		r.Header.Set("Content-Type", ct)
		if _, err := requestBody(httptest.NewRecorder(), r); err != nil {
			t.Errorf("Content-Type %q: %v", ct, err)
		}
	}
	for name, body := range map[string]string{
		"large JSON":       `{"types":["` + strings.Repeat("a", adminapi.MaxBodyBytes) + `"]}`,
		"large whitespace": `{}` + strings.Repeat(" ", adminapi.MaxBodyBytes),
	} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		rd, err := requestBody(httptest.NewRecorder(), r)
		if err != nil {
			t.Fatal(err)
		}
		var v adminapi.ReplayRequest
		if status, _ := errorResponse(decodeJSON(rd, &v)); status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: %d; want 413", name, status)
		}
	}
}

// TestOversizeBodies proves every route with a body answers 413 payload_too_large through the
// router, and 415 for a body that is not JSON.
func TestOversizeBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	huge := `{"ids":[` + strings.Repeat("1,", adminapi.MaxBodyBytes) + `1]}`
	for _, route := range []struct{ method, path string }{
		{http.MethodPost, "/v1/replays"}, {http.MethodPut, "/v1/start-time"}, {http.MethodPost, "/v1/dlq/redrive"},
	} {
		res := e.do(request{method: route.method, path: route.path, token: adminToken, body: huge})
		msg := res.wantError(t, http.StatusRequestEntityTooLarge, adminapi.CodeTooLarge)
		if msg.Message != "request body over 65536 bytes" {
			t.Errorf("%s: message %q", route.path, msg.Message)
		}
		e.do(request{method: route.method, path: route.path, token: adminToken, body: "{}", contentType: "text/plain"}).
			wantError(t, http.StatusUnsupportedMediaType, adminapi.CodeUnsupportedMediaType)
	}
}
