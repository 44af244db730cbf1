package datadogtest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/sink/datadog/datadogtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

var _ sinktest.Peer = (*datadogtest.Intake)(nil)

// post sends body to the intake as the sink would, with changes applied to the request.
func post(t *testing.T, in *datadogtest.Intake, body []byte, gz bool, change func(*http.Request)) *http.Response {
	t.Helper()
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(body); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		body = buf.Bytes()
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, in.URL()+"/api/v2/logs", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("DD-API-KEY", in.APIKey())
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if change != nil {
		change(req)
	}
	resp, err := in.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func items(n, messageBytes int) []byte {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"message":"%d%s","ddsource":"teleport","ddtags":"a:b","service":"s","hostname":"h","date":"2025-01-02T03:04:05.000Z","n":%d}`,
			i, strings.Repeat("m", messageBytes), i)
	}
	b.WriteString("]")
	return []byte(b.String())
}

func TestIntakeEnforcesTheDocumentedBehaviour(t *testing.T) {
	tests := []struct {
		name   string
		opts   []datadogtest.Option
		body   []byte
		gzip   bool
		change func(*http.Request)
		want   int
		items  int
	}{
		{name: "accepted", body: items(3, 10), gzip: true, want: 202, items: 3},
		{name: "single object", body: []byte(`{"message":"one"}`), gzip: true, want: 202, items: 1},
		{name: "uncompressed accepted", body: items(2, 10), want: 202, items: 2},
		{name: "uncompressed refused when gzip required", opts: []datadogtest.Option{datadogtest.RequireGzip()},
			body: items(2, 10), want: 400},
		{name: "no key", body: items(1, 1), gzip: true, change: func(r *http.Request) { r.Header.Del("DD-API-KEY") }, want: 401},
		{name: "wrong key", body: items(1, 1), gzip: true, change: func(r *http.Request) { r.Header.Set("DD-API-KEY", "nope") }, want: 401},
		{name: "wrong key, 403", opts: []datadogtest.Option{datadogtest.WrongKeyForbidden()}, body: items(1, 1), gzip: true,
			change: func(r *http.Request) { r.Header.Set("DD-API-KEY", "nope") }, want: 403},
		{name: "bad gzip", body: []byte("not gzip"), change: func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") }, want: 400},
		{name: "not JSON", body: []byte("hello"), gzip: true, want: 400},
		{name: "not objects", body: []byte(`[1,2]`), gzip: true, want: 400},
		{name: "1000 items", body: items(1000, 1), gzip: true, want: 202, items: 1000},
		{name: "1001 items", body: items(1001, 1), gzip: true, want: 413},
		{name: "over 5 MB", body: items(6, 900_000), gzip: true, want: 413},
		{name: "wrong path", body: items(1, 1), gzip: true,
			change: func(r *http.Request) { r.URL.Path = "/api/v1/input" }, want: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := datadogtest.New(t, tt.opts...)
			resp := post(t, in, tt.body, tt.gzip, tt.change)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if got := len(in.Items()); got != tt.items {
				t.Errorf("intake holds %d items, want %d", got, tt.items)
			}
			if tt.want != 202 {
				var answer struct {
					Errors []map[string]string `json:"errors"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || len(answer.Errors) != 1 {
					t.Errorf("error answer %+v (%v), want Datadog's shape", answer, err)
				}
			}
		})
	}
}

func TestIntakeRecordsItems(t *testing.T) {
	in := datadogtest.New(t)
	post(t, in, items(2, 3), true, nil)
	got := in.Items()
	want := datadogtest.Item{Message: "1mmm", Source: "teleport", Tags: "a:b", Service: "s", Hostname: "h",
		Attributes: map[string]string{"date": "2025-01-02T03:04:05.000Z", "n": "1"}}
	if fmt.Sprint(got[1]) != fmt.Sprint(want) {
		t.Errorf("item = %+v, want %+v", got[1], want)
	}
	reqs := in.Requests()
	if len(reqs) != 1 || reqs[0].Encoding != "gzip" || reqs[0].Items != 2 || reqs[0].Bytes <= 0 || reqs[0].WireBytes <= 0 {
		t.Errorf("requests = %+v", reqs)
	}
	if r := in.Received(); len(r) != 2 || string(r[0]) != "0mmm" {
		t.Errorf("received = %q", r)
	}
}

func TestIntakeTruncatesItemsOver1MB(t *testing.T) {
	in := datadogtest.New(t)
	resp := post(t, in, items(2, 1_200_000), true, nil)
	if resp.StatusCode != 202 {
		t.Fatalf("status %d, want 202 as Datadog documents", resp.StatusCode)
	}
	for i, it := range in.Items() {
		if !it.Truncated || len(it.Message) != datadogtest.MaxItemBytes {
			t.Errorf("item %d: truncated %t, %d bytes", i, it.Truncated, len(it.Message))
		}
	}
}

func TestIntakeFailures(t *testing.T) {
	in := datadogtest.New(t)
	for _, tt := range []struct {
		kind sinktest.FailureKind
		want int
	}{{sinktest.Transient, 503}, {sinktest.Permanent, 400}, {sinktest.Unauthorized, 403}} {
		in.Fail(1, tt.kind)
		if got := post(t, in, items(1, 1), true, nil).StatusCode; got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.kind, got, tt.want)
		}
	}
	in.FailNext(2, datadogtest.Failure{Status: 429, RetryAfter: "3"})
	for range 2 {
		if resp := post(t, in, items(1, 1), true, nil); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
			t.Errorf("status %d Retry-After %q, want 429 and 3", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if got := post(t, in, items(1, 1), true, nil).StatusCode; got != 202 {
		t.Errorf("after the failures: status %d, want 202", got)
	}
	in.FailRandomly(1, datadogtest.Failure{Status: 500})
	if got := post(t, in, items(1, 1), true, nil).StatusCode; got != 500 {
		t.Errorf("random failure: status %d, want 500", got)
	}
	in.FailRandomly(0)
	if got := len(in.Received()); got != 1 {
		t.Errorf("intake holds %d items, want the one accepted", got)
	}
}

func TestIntakeResetAndHang(t *testing.T) {
	in := datadogtest.New(t)
	do := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.URL()+"/api/v2/logs", bytes.NewReader(items(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("DD-API-KEY", in.APIKey())
		resp, err := in.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	in.Fail(1, sinktest.Reset)
	if err := do(t.Context()); err == nil {
		t.Error("reset: got an answer")
	}
	in.Fail(1, sinktest.Hang)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := do(ctx); err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("hang: %v after %v, want the client to give up", err, time.Since(start))
	}
	in.SetLatency(100 * time.Millisecond)
	start = time.Now()
	if err := do(t.Context()); err != nil || time.Since(start) < 100*time.Millisecond {
		t.Errorf("latency: %v after %v", err, time.Since(start))
	}
	if got := len(in.Received()); got != 1 {
		t.Errorf("intake holds %d items, want 1", got)
	}
}

func TestIntakeTLSAndPrefix(t *testing.T) {
	in := datadogtest.New(t, datadogtest.TLS(), datadogtest.WithAPIKey("k-123"))
	if !strings.HasPrefix(in.URL(), "https://") || in.APIKey() != "k-123" || in.Secrets()[0] != "k-123" {
		t.Fatalf("url %s key %s", in.URL(), in.APIKey())
	}
	resp := post(t, in, items(1, 1), true, func(r *http.Request) { r.URL.Path = "/relay/api/v2/logs" })
	if resp.StatusCode != 202 || in.Requests()[0].Path != "/relay/api/v2/logs" {
		t.Errorf("status %d, requests %+v", resp.StatusCode, in.Requests())
	}
}
