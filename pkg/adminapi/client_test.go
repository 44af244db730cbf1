package adminapi_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
)

// recorded is one request a fake server saw.
type recorded struct {
	Method, Path, RawPath, Query, Auth, ContentType string
	Body                                            string
}

// fakeAPI is an httptest server that records each request and answers with the status and
// body that answer returns.
func fakeAPI(t *testing.T, answer func(r *http.Request) (int, string)) (*httptest.Server, func() []recorded) {
	t.Helper()
	var mu sync.Mutex
	var seen []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, recorded{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery,
			r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		status, body := answer(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []recorded {
		mu.Lock()
		defer mu.Unlock()
		return append([]recorded(nil), seen...)
	}
}

func newClient(t *testing.T, url, token string, opts ...adminapi.ClientOption) *adminapi.Client {
	t.Helper()
	c, err := adminapi.NewClient(url, token, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Every method sends its route's method, path, query and JSON body with the token, and
// decodes the answer.
func TestClientRoutes(t *testing.T) {
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(72 * time.Hour)
	no := false
	tests := []struct {
		name     string
		call     func(ctx context.Context, c *adminapi.Client) (any, error)
		answer   string
		status   int
		want     recorded // Method, Path, Query, Body (JSON, compared as text)
		wantResp string   // the decoded answer, as JSON
	}{
		{
			name:     "status",
			call:     func(ctx context.Context, c *adminapi.Client) (any, error) { return c.Status(ctx) },
			answer:   `{"time":"2025-01-04T00:00:00Z","ingest":{"mode":"search","epoch":2,"paused":true,"windows":{"done":3,"total":4}},"stream":{"name":"TELEPORT_EVENTS","messages":7},"consumers":[{"sink":"fluentd","name":"sink-fluentd","pending":5}],"dlq":{"total":1,"by_sink":{"fluentd":1}},"replays":{"active":1},"replicas":{"ingest":[{"id":"a","started":"2025-01-01T00:00:00Z","seen":"2025-01-01T00:00:05Z"}]},"future_field":1}`,
			want:     recorded{Method: "GET", Path: "/v1/status"},
			wantResp: `"mode":"search","epoch":2,"paused":true`,
		},
		{
			name: "create replay",
			call: func(ctx context.Context, c *adminapi.Client) (any, error) {
				return c.CreateReplay(ctx, adminapi.ReplayRequest{From: from, To: to, Types: []string{"user.login"}, Sinks: []string{"datadog"}})
			},
			status:   http.StatusAccepted,
			answer:   `{"id":"r1","state":"active","from":"2025-01-01T00:00:00Z","to":"2025-01-04T00:00:00Z","created_at":"2025-01-04T00:00:00Z","windows":{},"windows_done":0,"windows_total":3,"events":0}`,
			want:     recorded{Method: "POST", Path: "/v1/replays", Body: `{"from":"2025-01-01T00:00:00Z","to":"2025-01-04T00:00:00Z","types":["user.login"],"sinks":["datadog"]}`},
			wantResp: `"id":"r1","state":"active"`,
		},
		{
			name:     "replays",
			call:     func(ctx context.Context, c *adminapi.Client) (any, error) { return c.Replays(ctx) },
			answer:   `{"replays":[{"id":"r2"},{"id":"r1"}]}`,
			want:     recorded{Method: "GET", Path: "/v1/replays"},
			wantResp: `"id":"r2"`,
		},
		{
			name:     "replay",
			call:     func(ctx context.Context, c *adminapi.Client) (any, error) { return c.Replay(ctx, "r1") },
			answer:   `{"id":"r1","windows_done":2,"windows_total":3,"events":40,"eta":"2025-01-04T00:01:00Z"}`,
			want:     recorded{Method: "GET", Path: "/v1/replays/r1"},
			wantResp: `"windows_done":2,"windows_total":3,"events":40,"eta":"2025-01-04T00:01:00Z"`,
		},
		{
			name:     "replay id is escaped",
			call:     func(ctx context.Context, c *adminapi.Client) (any, error) { return c.Replay(ctx, "a/b?c") },
			answer:   `{"id":"a/b?c"}`,
			want:     recorded{Method: "GET", Path: "/v1/replays/a/b?c"},
			wantResp: `"id":"a/b?c"`,
		},
		{
			name:     "cancel replay",
			call:     func(ctx context.Context, c *adminapi.Client) (any, error) { return c.CancelReplay(ctx, "r1") },
			answer:   `{"id":"r1","state":"cancelled"}`,
			want:     recorded{Method: "DELETE", Path: "/v1/replays/r1"},
			wantResp: `"state":"cancelled"`,
		},
		{
			name: "reset start time",
			call: func(ctx context.Context, c *adminapi.Client) (any, error) {
				return c.ResetStartTime(ctx, adminapi.StartTimeRequest{StartTime: from, Confirm: true})
			},
			answer:   `{"epoch":3,"start_time":"2025-01-01T00:00:00Z"}`,
			want:     recorded{Method: "PUT", Path: "/v1/start-time", Body: `{"start_time":"2025-01-01T00:00:00Z","confirm":true}`},
			wantResp: `{"epoch":3,"start_time":"2025-01-01T00:00:00Z"}`,
		},
		{
			name:     "pause",
			call:     func(ctx context.Context, c *adminapi.Client) (any, error) { return c.Pause(ctx) },
			answer:   `{"paused":true,"paused_at":"2025-01-04T00:00:00Z"}`,
			want:     recorded{Method: "POST", Path: "/v1/ingest/pause"},
			wantResp: `{"paused":true,"paused_at":"2025-01-04T00:00:00Z"}`,
		},
		{
			name:     "resume",
			call:     func(ctx context.Context, c *adminapi.Client) (any, error) { return c.Resume(ctx) },
			answer:   `{"paused":false}`,
			want:     recorded{Method: "POST", Path: "/v1/ingest/resume"},
			wantResp: `{"paused":false}`,
		},
		{
			name: "dlq with every filter",
			call: func(ctx context.Context, c *adminapi.Client) (any, error) {
				return c.DLQ(ctx, adminapi.DLQQuery{Sink: "datadog", Reason: "400 bad & worse", After: 7, Limit: 50})
			},
			answer:   `{"entries":[{"id":8,"time":"2025-01-04T00:00:00Z","sink":"datadog","reason":"400","attempts":1,"original_subject":"teleport.audit.user.login","body":{"event":"user.login"}}],"next":8}`,
			want:     recorded{Method: "GET", Path: "/v1/dlq", Query: "after=7&limit=50&reason=400+bad+%26+worse&sink=datadog"},
			wantResp: `"next":8`,
		},
		{
			name:     "dlq without filters",
			call:     func(ctx context.Context, c *adminapi.Client) (any, error) { return c.DLQ(ctx, adminapi.DLQQuery{}) },
			answer:   `{"entries":[]}`,
			want:     recorded{Method: "GET", Path: "/v1/dlq"},
			wantResp: `{"entries":[]}`,
		},
		{
			name: "redrive",
			call: func(ctx context.Context, c *adminapi.Client) (any, error) {
				return c.Redrive(ctx, adminapi.RedriveRequest{IDs: []uint64{3, 4}, ToSink: "fluentd", Delete: &no})
			},
			answer:   `{"redriven":[{"id":3,"subject":"teleport.audit.x","seq":99}],"failed":[{"id":4,"error":"gone"}]}`,
			want:     recorded{Method: "POST", Path: "/v1/dlq/redrive", Body: `{"ids":[3,4],"to_sink":"fluentd","delete":false}`},
			wantResp: `"failed":[{"id":4,"error":"gone"}]`,
		},
		{
			name:   "delete dead letter",
			call:   func(ctx context.Context, c *adminapi.Client) (any, error) { return nil, c.DeleteDeadLetter(ctx, 42) },
			status: http.StatusNoContent,
			want:   recorded{Method: "DELETE", Path: "/v1/dlq/42"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.status
			if status == 0 {
				status = http.StatusOK
			}
			srv, seen := fakeAPI(t, func(*http.Request) (int, string) { return status, tt.answer })
			c := newClient(t, srv.URL, "s3cret")
			got, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			reqs := seen()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.want.Method || r.Path != tt.want.Path || r.Query != tt.want.Query {
				t.Errorf("request %s %s?%s, want %s %s?%s", r.Method, r.Path, r.Query, tt.want.Method, tt.want.Path, tt.want.Query)
			}
			if r.Auth != "Bearer s3cret" {
				t.Errorf("Authorization %q", r.Auth)
			}
			if r.Body != tt.want.Body {
				t.Errorf("body %s, want %s", r.Body, tt.want.Body)
			}
			if tt.want.Body != "" && r.ContentType != "application/json" {
				t.Errorf("Content-Type %q", r.ContentType)
			}
			if tt.wantResp != "" {
				b, _ := json.Marshal(got)
				if !strings.Contains(string(b), tt.wantResp) {
					t.Errorf("answer %s lacks %s", b, tt.wantResp)
				}
			}
		})
	}
}

// API errors are *adminapi.Error with the code, message and status; an answer without an
// error body (a proxy's page) still is one, with the status's code.
func TestClientAPIErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantCode   string
		wantStatus int
		wantMsg    string
	}{
		{"error body", 403, `{"error":{"code":"forbidden","message":"POST /v1/ingest/pause needs the admin scope"}}`, "forbidden", 403, "needs the admin scope"},
		{"conflict", 409, `{"error":{"code":"conflict","message":"replay r1 is done"}}`, "conflict", 409, "replay r1 is done"},
		{"no body", 502, ``, adminapi.CodeUnavailable, 502, "Bad Gateway"},
		{"html", 404, `<html>not here</html>`, adminapi.CodeNotFound, 404, "Not Found: <html>not here</html>"},
		{"long text is cut", 500, strings.Repeat("x", 1000), adminapi.CodeInternal, 500, strings.Repeat("x", 200) + "…"},
		{"empty message", 401, `{"error":{"code":"unauthorized"}}`, "unauthorized", 401, "Unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := fakeAPI(t, func(*http.Request) (int, string) { return tt.status, tt.body })
			_, err := newClient(t, srv.URL, "").Status(context.Background())
			var ae *adminapi.Error
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *adminapi.Error", err, err)
			}
			if ae.Code != tt.wantCode || ae.Status != tt.wantStatus || !strings.Contains(ae.Message, tt.wantMsg) {
				t.Errorf("got %+v, want code %s status %d message ~%q", *ae, tt.wantCode, tt.wantStatus, tt.wantMsg)
			}
			if errors.Is(err, adminapi.ErrUnreachable) {
				t.Error("an answer is not ErrUnreachable")
			}
		})
	}
}

// No answer at all is ErrUnreachable, naming the URL and never the token.
func TestClientUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	c := newClient(t, "http://"+addr, "tok-do-not-show")
	_, err = c.Status(context.Background())
	if !errors.Is(err, adminapi.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	want := "cannot reach the admin API at http://" + addr + ": "
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %q, want %q…connection refused", err, want)
	}
	if strings.Contains(err.Error(), "tok-do-not-show") {
		t.Error("the error shows the token")
	}

	// A timeout is unreachable too, and says so.
	srv, _ := fakeAPI(t, func(r *http.Request) (int, string) {
		<-r.Context().Done()
		return 200, "{}"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = newClient(t, srv.URL, "").Pause(ctx)
	if !errors.Is(err, adminapi.ErrUnreachable) || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("err = %v, want unreachable: deadline exceeded", err)
	}
}

func TestClientBadAnswer(t *testing.T) {
	srv, _ := fakeAPI(t, func(*http.Request) (int, string) { return 200, `not json` })
	_, err := newClient(t, srv.URL, "").Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is not the expected JSON") {
		t.Errorf("err = %v", err)
	}
}

func TestNewClient(t *testing.T) {
	tests := []struct {
		name, url, token, wantErr string
	}{
		{name: "http", url: "http://127.0.0.1:8080"},
		{name: "https with a prefix", url: "https://admin.example.com/auditpipe/"},
		{name: "no scheme", url: "127.0.0.1:8080", wantErr: "want http:// or https://"},
		{name: "ftp", url: "ftp://x", wantErr: "want http:// or https://"},
		{name: "no host", url: "http://", wantErr: "no host"},
		{name: "credentials", url: "http://u:pw@x", wantErr: "must not hold credentials"},
		{name: "query", url: "http://x/?a=b", wantErr: "query"},
		{name: "token of two lines", url: "http://x", token: "a\nb", wantErr: "one line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := adminapi.NewClient(tt.url, tt.token)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "pw") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// A base URL with a path (the API behind a proxy) keeps it.
func TestClientPathPrefix(t *testing.T) {
	srv, seen := fakeAPI(t, func(*http.Request) (int, string) { return 200, `{"paused":true}` })
	if _, err := newClient(t, srv.URL+"/auditpipe/", "").Pause(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := seen()[0].Path; p != "/auditpipe/v1/ingest/pause" {
		t.Errorf("path %s", p)
	}
	if a := seen()[0].Auth; a != "" {
		t.Errorf("no token, but Authorization %q", a)
	}
}

// WithTLSConfig reaches an https server with client-certificate authentication.
func TestClientMutualTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"error":{"code":"unauthorized","message":"no client certificate"}}`)
			return
		}
		_, _ = fmt.Fprintf(w, `{"paused":true}`)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusting client's handshake error
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	// The server's own certificate serves as a client certificate here: the fake only checks
	// that one was sent.
	clientCert := srv.TLS.Certificates[0]
	c := newClient(t, srv.URL, "", adminapi.WithTLSConfig(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}}))
	got, err := c.Pause(context.Background())
	if err != nil || !got.Paused {
		t.Fatalf("Pause = %+v, %v", got, err)
	}

	// Without a certificate the server's 401 comes back as an *Error.
	c = newClient(t, srv.URL, "", adminapi.WithTLSConfig(&tls.Config{RootCAs: roots}))
	_, err = c.Pause(context.Background())
	var ae *adminapi.Error
	if !errors.As(err, &ae) || ae.Status != 401 {
		t.Errorf("err = %v, want a 401 *Error", err)
	}

	// Without the CA, the server is not trusted: unreachable, with the reason.
	_, err = newClient(t, srv.URL, "").Pause(context.Background())
	if !errors.Is(err, adminapi.ErrUnreachable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("err = %v, want unreachable: certificate …", err)
	}

	// WithHTTPClient then WithTLSConfig: the given client's timeout is kept, its transport not
	// changed.
	hc := &http.Client{Timeout: time.Second}
	c = newClient(t, srv.URL, "", adminapi.WithHTTPClient(hc), adminapi.WithTLSConfig(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}}))
	if _, err := c.Pause(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hc.Transport != nil {
		t.Error("WithTLSConfig changed the caller's http.Client")
	}
}
