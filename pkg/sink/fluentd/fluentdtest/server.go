// Package fluentdtest is a fake Fluentd peer for tests: an HTTPS server that behaves as
// Fluentd's in_http input with `<transport tls>` and `client_cert_auth true`, as
// teleport-event-handler's generated fluent.conf sets it up.
//
// It exists because no real Fluentd runs where auditpipe's tests run, so it is strict where
// in_http is:
//   - mutual TLS, TLS 1.2 or later: a client without a certificate signed by the server's own
//     CA fails the handshake;
//   - POST only; the tag is the URL path with "/" turned into "." ("/a/b" → "a.b"); a path
//     without a tag is refused;
//   - Content-Type application/json takes one JSON object or a JSON array of objects;
//     application/x-ndjson takes one object per line; Content-Encoding gzip and deflate are
//     decoded; anything else, and any body that does not parse, is answered 400;
//   - a body over the body size limit (as sent, before decoding; 32 MiB by default, as
//     in_http's body_size_limit) is answered 413;
//   - success is 200 with an empty body, and only then are the request's records stored.
//
// It keeps each record whole; Fluentd's json parser would also move the "time" field into the
// event time (keep_time_key false), which is Fluentd's configuration, not the client's
// concern. msgpack bodies are not supported (400).
//
// Faults are injected on request ([Server.Fail], [Server.SetFailureRate],
// [Server.SetLatency]). A Server is a [sinktest.Peer] and is safe for concurrent use.
package fluentdtest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/config"
)

const (
	// AuditTag is the tag of [Server.Config]'s URL.
	AuditTag = "teleport.audit"
	// SessionTag is the tag of [Server.Config]'s SessionURL; teleport-event-handler's session
	// events arrive under SessionTag + "." + session id + ".log".
	SessionTag = "teleport.session"
	// DefaultBodySizeLimit is in_http's default body_size_limit: 32 MiB.
	DefaultBodySizeLimit = 32 << 20
)

// Record is one record Fluentd accepted: its tag and the JSON object as it arrived.
type Record struct {
	Tag  string
	Body json.RawMessage
}

// Files are the PEM files a Server writes for its clients, in a directory removed with the
// test.
type Files struct {
	// CA is the certificate of the Server's own CA: it signed the server's certificate and
	// the trusted client certificate.
	CA string
	// Cert and Key are a client certificate the Server trusts, and its key.
	Cert, Key string
	// UntrustedCert and UntrustedKey are a client certificate signed by another CA, which
	// the Server refuses.
	UntrustedCert, UntrustedKey string
}

// Server is a running fake Fluentd. Make one with [New]; it stops when the test ends.
type Server struct {
	srv       *httptest.Server
	ca        *authority
	files     Files
	bodyLimit int64
	discard   bool
	done      chan struct{} // closed when the test ends, to free hanging requests

	mu                sync.Mutex
	secrets           []string
	clientSerials     []*big.Int
	records           []Record
	accepted          int
	requests          int
	connections       int
	handshakeFailures int
	faults            faults
}

// Option changes how [New] sets up a Server.
type Option func(*Server)

// WithBodySizeLimit sets the largest request body, in bytes as sent, that the Server accepts
// (in_http's body_size_limit).
func WithBodySizeLimit(n int64) Option {
	return func(s *Server) { s.bodyLimit = n }
}

// WithDiscard makes the Server check and count records but not keep them, for benchmarks
// that send more than memory holds: [Server.Records] and [Server.Received] stay empty,
// [Server.Accepted] counts.
func WithDiscard() Option {
	return func(s *Server) { s.discard = true }
}

// New starts a Server on 127.0.0.1 with fresh certificates written to a temporary directory.
// It fails t when it cannot, and stops the Server with t.Cleanup.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{bodyLimit: DefaultBodySizeLimit, done: make(chan struct{}), faults: newFaults()}
	for _, opt := range opts {
		opt(s)
	}

	ca, err := newAuthority("fluentdtest CA")
	if err != nil {
		t.Fatal(err)
	}
	s.ca = ca
	other, err := newAuthority("fluentdtest untrusted CA")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.serverPair()
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.clientPair("auditpipe")
	if err != nil {
		t.Fatal(err)
	}
	untrusted, err := other.clientPair("auditpipe")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.writeFiles(t.TempDir(), ca, client, untrusted); err != nil {
		t.Fatal(err)
	}
	s.secrets = append(secretsOf(client.keyPEM), secretsOf(untrusted.keyPEM)...)

	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(ca.cert)
	s.srv = httptest.NewUnstartedServer(s)
	s.srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{server.tls},
		ClientCAs:    clientCAs,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(cs.PeerCertificates) > 0 {
				s.clientSerials = append(s.clientSerials, cs.PeerCertificates[0].SerialNumber)
			}
			return nil
		},
	}
	s.srv.Config.ConnState = s.countConnection
	s.srv.Config.ErrorLog = log.New(handshakeCounter{s}, "", 0)
	s.srv.StartTLS()
	t.Cleanup(func() {
		close(s.done)
		s.srv.Close()
	})
	return s
}

func (s *Server) writeFiles(dir string, ca *authority, client, untrusted *keyPair) error {
	s.files.CA = filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(s.files.CA, ca.pem, 0o600); err != nil {
		return err
	}
	var err error
	if s.files.Cert, s.files.Key, err = client.write(dir, "client"); err != nil {
		return err
	}
	s.files.UntrustedCert, s.files.UntrustedKey, err = untrusted.write(dir, "untrusted-client")
	return err
}

// URL is the Server's base URL, https://127.0.0.1:<port>, without a path (so without a tag).
func (s *Server) URL() string { return s.srv.URL }

// Files returns the certificate files the Server wrote.
func (s *Server) Files() Files { return s.files }

// Config returns a Fluentd sink configuration for this Server: URL tagged [AuditTag],
// SessionURL tagged [SessionTag], the trusted client certificate, batches of 100 and 4
// connections.
func (s *Server) Config() config.Fluentd {
	return config.Fluentd{
		URL:            s.srv.URL + "/" + AuditTag,
		SessionURL:     s.srv.URL + "/" + SessionTag,
		CA:             s.files.CA,
		Cert:           s.files.Cert,
		Key:            s.files.Key,
		Batch:          100,
		MaxConnections: 4,
	}
}

// UntrustedConfig is [Server.Config] with the client certificate the Server refuses.
func (s *Server) UntrustedConfig() config.Fluentd {
	c := s.Config()
	c.Cert, c.Key = s.files.UntrustedCert, s.files.UntrustedKey
	return c
}

// Records returns every record the Server accepted, in arrival order.
func (s *Server) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.records...)
}

// Tagged returns the records accepted under tag, in arrival order.
func (s *Server) Tagged(tag string) []json.RawMessage {
	var out []json.RawMessage
	for _, r := range s.Records() {
		if r.Tag == tag {
			out = append(out, r.Body)
		}
	}
	return out
}

// Received returns every record accepted, whatever its tag, in arrival order
// ([sinktest.Peer]).
func (s *Server) Received() []json.RawMessage {
	records := s.Records()
	out := make([]json.RawMessage, len(records))
	for i, r := range records {
		out[i] = r.Body
	}
	return out
}

// Accepted is how many records the Server accepted, kept or not.
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Requests is how many HTTP requests reached the Server, whatever their answer.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Connections is how many connections clients opened to the Server, including those whose
// TLS handshake failed.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connections
}

// HandshakeFailures is how many TLS handshakes the Server refused or could not complete.
func (s *Server) HandshakeFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handshakeFailures
}

// Secrets returns the client private keys in PEM and each line of their encoding: what a
// client's errors and logs must never show ([sinktest.Peer]). It includes the keys of
// [Server.ReissueClientCert].
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.secrets...)
}

// ReissueClientCert writes a new client certificate, signed by the Server's CA with a new key
// and serial, over [Files] Cert and Key — the key first, each by renaming a new file over the
// old, as a certificate renewal does — and returns it. It fails t when it cannot.
func (s *Server) ReissueClientCert(t testing.TB) *x509.Certificate {
	t.Helper()
	pair, err := s.ca.clientPair("auditpipe")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{s.files.Key, pair.keyPEM}, {s.files.Cert, pair.certPEM}} {
		if err := os.WriteFile(f.path+".new", f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f.path+".new", f.path); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	s.secrets = append(s.secrets, secretsOf(pair.keyPEM)...)
	s.mu.Unlock()
	return pair.tls.Leaf
}

// ClientSerials returns the serial of the client certificate of each TLS handshake the Server
// accepted, in order.
func (s *Server) ClientSerials() []*big.Int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*big.Int(nil), s.clientSerials...)
}

// CloseClientConnections closes every client connection, idle or busy, so that the next
// requests open new ones (with a new handshake).
func (s *Server) CloseClientConnections() { s.srv.CloseClientConnections() }

func (s *Server) countConnection(_ net.Conn, state http.ConnState) {
	if state == http.StateNew {
		s.mu.Lock()
		s.connections++
		s.mu.Unlock()
	}
}

// handshakeCounter is the Server's error log: net/http reports each failed TLS handshake
// there. Other lines are dropped; the test sees their effects through answers and counts.
type handshakeCounter struct{ s *Server }

func (h handshakeCounter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "TLS handshake error") {
		h.s.mu.Lock()
		h.s.handshakeFailures++
		h.s.mu.Unlock()
	}
	return len(p), nil
}

// secretsOf returns a PEM block and each of its base64 lines.
func secretsOf(keyPEM []byte) []string {
	out := []string{string(keyPEM)}
	for _, line := range strings.Split(string(keyPEM), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}
