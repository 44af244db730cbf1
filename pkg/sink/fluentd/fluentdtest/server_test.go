package fluentdtest_test

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/sink/fluentd/fluentdtest"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

// client returns an HTTP client for srv with the client certificate certFile/keyFile (none
// when empty), trusting caFile, and at most maxTLS (0: any).
func client(t *testing.T, caFile, certFile, keyFile string, maxTLS uint16) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	tc := &tls.Config{RootCAs: pool, MaxVersion: maxTLS}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	tr := &http.Transport{TLSClientConfig: tc}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func trusted(t *testing.T, srv *fluentdtest.Server) *http.Client {
	f := srv.Files()
	return client(t, f.CA, f.Cert, f.Key, 0)
}

func post(t *testing.T, c *http.Client, url string, header http.Header, body []byte) (int, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestInHTTPBehaviour(t *testing.T) {
	jsonType := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name        string
		path        string
		header      http.Header
		body        []byte
		method      string
		wantStatus  int
		wantRecords []string
	}{
		{name: "one object", path: "/a/b", header: jsonType, body: []byte(`{"x":1}`), wantStatus: 200, wantRecords: []string{`{"x":1}`}},
		{name: "array", path: "/a.b", header: jsonType, body: []byte(` [{"x":1}, {"y":"ü"}] `), wantStatus: 200, wantRecords: []string{`{"x":1}`, `{"y":"ü"}`}},
		{name: "charset", path: "/a.b", header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, body: []byte(`{"x":1}`), wantStatus: 200, wantRecords: []string{`{"x":1}`}},
		{name: "ndjson", path: "/a/b", header: http.Header{"Content-Type": {"application/x-ndjson"}}, body: []byte("{\"x\":1}\n\n{\"y\":2}\n"), wantStatus: 200, wantRecords: []string{`{"x":1}`, `{"y":2}`}},
		{name: "gzip", path: "/a/b", header: http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}, body: gz(t, []byte(`[{"x":1}]`)), wantStatus: 200, wantRecords: []string{`{"x":1}`}},
		{name: "bad gzip", path: "/a", header: http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}, body: []byte(`[{"x":1}]`), wantStatus: 400},
		{name: "unknown encoding", path: "/a", header: http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"br"}}, body: []byte(`{}`), wantStatus: 400},
		{name: "invalid json", path: "/a", header: jsonType, body: []byte(`{"x":`), wantStatus: 400},
		{name: "array of non-objects", path: "/a", header: jsonType, body: []byte(`[{"x":1}, 2]`), wantStatus: 400},
		{name: "scalar", path: "/a", header: jsonType, body: []byte(`"x"`), wantStatus: 400},
		{name: "trailing garbage", path: "/a", header: jsonType, body: []byte(`{"x":1} {"y":2}`), wantStatus: 400},
		{name: "bad ndjson line", path: "/a", header: http.Header{"Content-Type": {"application/x-ndjson"}}, body: []byte("{\"x\":1}\n[1]\n"), wantStatus: 400},
		{name: "no content type", path: "/a", header: http.Header{}, body: []byte(`{"x":1}`), wantStatus: 400},
		{name: "msgpack", path: "/a", header: http.Header{"Content-Type": {"application/msgpack"}}, body: []byte{0x80}, wantStatus: 400},
		{name: "no tag", path: "/", header: jsonType, body: []byte(`{"x":1}`), wantStatus: 400},
		{name: "GET", path: "/a", method: http.MethodGet, wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fluentdtest.New(t)
			c := trusted(t, srv)
			method := orDefault(tt.method, http.MethodPost)
			req, err := http.NewRequest(method, srv.URL()+tt.path, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != nil {
				req.Header = tt.header
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			var got []string
			for _, r := range srv.Records() {
				if want := strings.Trim(strings.ReplaceAll(tt.path, "/", "."), "."); r.Tag != want {
					t.Errorf("tag %q, want %q", r.Tag, want)
				}
				got = append(got, string(r.Body))
			}
			if !slices.Equal(got, tt.wantRecords) {
				t.Errorf("records %q, want %q", got, tt.wantRecords)
			}
			if srv.Requests() != 1 {
				t.Errorf("%d requests counted, want 1", srv.Requests())
			}
		})
	}
}

func orDefault(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

func TestBodySizeLimit(t *testing.T) {
	srv := fluentdtest.New(t, fluentdtest.WithBodySizeLimit(100))
	c := trusted(t, srv)
	h := http.Header{"Content-Type": {"application/json"}}
	ok := []byte(`{"x":"` + strings.Repeat("a", 100-8) + `"}`)
	if status, err := post(t, c, srv.URL()+"/a", h, ok); err != nil || status != 200 {
		t.Errorf("%d bytes: %d %v, want 200", len(ok), status, err)
	}
	big := []byte(`{"x":"` + strings.Repeat("a", 100-7) + `"}`)
	if status, err := post(t, c, srv.URL()+"/a", h, big); err != nil || status != 413 {
		t.Errorf("%d bytes: %d %v, want 413", len(big), status, err)
	}
	if n := len(srv.Received()); n != 1 {
		t.Errorf("%d records, want 1", n)
	}
}

func TestDefaultBodySizeLimitIsFluentds(t *testing.T) {
	if fluentdtest.DefaultBodySizeLimit != 32*1024*1024 {
		t.Errorf("DefaultBodySizeLimit = %d", fluentdtest.DefaultBodySizeLimit)
	}
}

func TestMutualTLS(t *testing.T) {
	srv := fluentdtest.New(t)
	f := srv.Files()
	h := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		client *http.Client
		wantOK bool
	}{
		{name: "trusted client", client: client(t, f.CA, f.Cert, f.Key, 0), wantOK: true},
		{name: "trusted client over TLS 1.2", client: client(t, f.CA, f.Cert, f.Key, tls.VersionTLS12), wantOK: true},
		{name: "no client certificate", client: client(t, f.CA, "", "", 0)},
		{name: "untrusted client certificate", client: client(t, f.CA, f.UntrustedCert, f.UntrustedKey, 0)},
		{name: "TLS 1.1", client: client(t, f.CA, f.Cert, f.Key, tls.VersionTLS11)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, failures := len(srv.Received()), srv.HandshakeFailures()
			status, err := post(t, tt.client, srv.URL()+"/a", h, []byte(`{"x":1}`))
			if tt.wantOK {
				if err != nil || status != 200 {
					t.Fatalf("%d %v, want 200", status, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("answered %d, want a failed handshake", status)
			}
			if len(srv.Received()) != before {
				t.Error("a refused client's record was stored")
			}
			waitFor(t, func() bool { return srv.HandshakeFailures() > failures })
		})
	}
}

func TestServerCertificateNames(t *testing.T) {
	srv := fluentdtest.New(t)
	f := srv.Files()
	c := client(t, f.CA, f.Cert, f.Key, 0)
	port := srv.URL()[strings.LastIndex(srv.URL(), ":"):]
	status, err := post(t, c, "https://localhost"+port+"/a", http.Header{"Content-Type": {"application/json"}}, []byte(`{}`))
	if err != nil || status != 200 {
		t.Errorf("via localhost: %d %v", status, err)
	}
}

func TestFaults(t *testing.T) {
	h := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		kind       sinktest.FailureKind
		wantStatus int
		wantErr    bool
	}{
		{kind: sinktest.Transient, wantStatus: 503},
		{kind: sinktest.Permanent, wantStatus: 400},
		{kind: sinktest.Unauthorized, wantStatus: 403},
		{kind: sinktest.Reset, wantErr: true},
		{kind: sinktest.Hang, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			srv := fluentdtest.New(t)
			c := trusted(t, srv)
			c.Timeout = 300 * time.Millisecond
			srv.Fail(2, tt.kind)
			for range 2 {
				status, err := post(t, c, srv.URL()+"/a", h, []byte(`{"x":1}`))
				if (err != nil) != tt.wantErr || status != tt.wantStatus {
					t.Errorf("got %d, %v; want %d (error %t)", status, err, tt.wantStatus, tt.wantErr)
				}
			}
			if status, err := post(t, c, srv.URL()+"/a", h, []byte(`{"x":1}`)); err != nil || status != 200 {
				t.Errorf("after the failures: %d %v, want 200", status, err)
			}
			if n := len(srv.Received()); n != 1 {
				t.Errorf("%d records, want 1 (failed requests store nothing)", n)
			}
			if n := srv.Requests(); n != 3 {
				t.Errorf("%d requests, want 3", n)
			}
		})
	}
}

func TestFailZeroEndsFailures(t *testing.T) {
	srv := fluentdtest.New(t)
	c := trusted(t, srv)
	srv.Fail(5, sinktest.Transient)
	srv.Fail(0, sinktest.Transient)
	if status, err := post(t, c, srv.URL()+"/a", http.Header{"Content-Type": {"application/json"}}, []byte(`{}`)); err != nil || status != 200 {
		t.Errorf("%d %v, want 200", status, err)
	}
}

func TestFailureRate(t *testing.T) {
	srv := fluentdtest.New(t)
	c := trusted(t, srv)
	srv.SetFailureRate(0.3, sinktest.Transient)
	const n = 300
	failed := 0
	for range n {
		status, err := post(t, c, srv.URL()+"/a", http.Header{"Content-Type": {"application/json"}}, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if status == 503 {
			failed++
		}
	}
	if failed < n/5 || failed > n*2/5 {
		t.Errorf("%d of %d failed, want about 30%%", failed, n)
	}
	if got := len(srv.Received()); got != n-failed {
		t.Errorf("%d records, want %d", got, n-failed)
	}
	srv.SetFailureRate(0)
	if status, _ := post(t, c, srv.URL()+"/a", http.Header{"Content-Type": {"application/json"}}, []byte(`{}`)); status != 200 {
		t.Errorf("rate 0: %d, want 200", status)
	}
}

func TestLatency(t *testing.T) {
	srv := fluentdtest.New(t)
	c := trusted(t, srv)
	srv.SetLatency(150 * time.Millisecond)
	start := time.Now()
	if status, err := post(t, c, srv.URL()+"/a", http.Header{"Content-Type": {"application/json"}}, []byte(`{}`)); err != nil || status != 200 {
		t.Fatalf("%d %v", status, err)
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Errorf("answered in %v, want at least 150ms", took)
	}
}

func TestKeepAliveAndDiscard(t *testing.T) {
	srv := fluentdtest.New(t, fluentdtest.WithDiscard())
	c := trusted(t, srv)
	body, err := json.Marshal([]map[string]int{{"a": 1}, {"b": 2}})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if status, err := post(t, c, srv.URL()+"/a", http.Header{"Content-Type": {"application/json"}}, body); err != nil || status != 200 {
			t.Fatalf("%d %v", status, err)
		}
	}
	if got := srv.Connections(); got != 1 {
		t.Errorf("%d connections for 20 sequential requests, want 1", got)
	}
	if got := srv.Accepted(); got != 40 {
		t.Errorf("accepted %d records, want 40", got)
	}
	if got := len(srv.Records()); got != 0 {
		t.Errorf("kept %d records with WithDiscard", got)
	}
}

func TestSecrets(t *testing.T) {
	srv := fluentdtest.New(t)
	key, err := os.ReadFile(srv.Files().Key)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(srv.Secrets(), string(key)) {
		t.Error("Secrets does not hold the client key")
	}
	for _, s := range srv.Secrets() {
		if strings.Contains(s, "CERTIFICATE") {
			t.Errorf("a certificate is not a secret: %.40q", s)
		}
	}
}

// waitFor waits up to 5 seconds for cond; the server logs a failed handshake after the
// client has seen it fail.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Error("condition not met within 5s")
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
