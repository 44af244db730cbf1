package admin

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/logtest"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/testenv"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// t0 is the fake clock's start: the API's "now" in tests.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// Tokens of every env's tokens file.
const (
	readToken  = "read-token-0123456789abcdef"
	adminToken = "admin-token-0123456789abcdef"
)

// clock is a time source that moves only when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// logBuffer collects a Server's JSON log lines while it writes them.
type logBuffer struct{ logtest.Buffer }

// records returns the log lines whose msg is msg, decoded.
func (b *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, rec := range b.Records(t) {
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// jsonLogger logs everything, as JSON, to w.
func jsonLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// env is one test's pipeline state — a real Redis and an embedded NATS with the streams —
// and a Server over it, served by an httptest server.
type env struct {
	t        *testing.T
	cfg      *config.Config
	redis    *testenv.RedisServer
	rdb      *redis.Client
	nats     *testenv.NATSServer
	js       jetstream.JetStream
	clock    *clock
	logs     *logBuffer
	reg      *prometheus.Registry
	srv      *Server
	url      string
	store    *window.Store // the Server's view of Redis, for arranging state
	registry *replicas.Registry
}

// envOption adjusts an env before its Server is built.
type envOption func(*envSetup)

type envSetup struct {
	cfg       *config.Config
	noStreams bool // leave the streams uncreated
	keepLimit bool // keep the production rate limit
}

// withoutStreams leaves TELEPORT_EVENTS and TELEPORT_DLQ uncreated.
func withoutStreams(s *envSetup) { s.noStreams = true }

// withRateLimit keeps RateLimit per RateWindow; other envs lift it so tests may send many
// requests.
func withRateLimit(s *envSetup) { s.keepLimit = true }

// withConfig changes the configuration.
func withConfig(f func(*config.Config)) envOption { return func(s *envSetup) { f(s.cfg) } }

// newEnv starts Redis and NATS, creates the streams, writes a tokens file with readToken and
// adminToken, and serves a Server over them.
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	r := testenv.Redis(t)
	n := testenv.NATS(t)
	nc := n.Conn(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Redis.KeyPrefix = r.Prefix
	cfg.Admin.TokensFile = writeTokens(t, t.TempDir(), "read "+readToken+"\nadmin "+adminToken+"\n")
	setup := &envSetup{cfg: cfg}
	for _, o := range opts {
		o(setup)
	}
	e := &env{t: t, cfg: cfg, redis: r, rdb: r.Client(t), nats: n, js: js, clock: &clock{now: t0},
		logs: &logBuffer{}, reg: prometheus.NewRegistry()}
	e.registry = replicas.New(e.rdb, r.Prefix)
	if !setup.noStreams {
		if err := ensureStreams(e); err != nil {
			t.Fatalf("stream.Ensure: %v", err)
		}
	}
	e.srv, err = New(cfg, Deps{
		Redis: e.rdb, JetStream: js, Registry: e.registry, Registerer: e.reg, Gatherer: e.reg,
		Logger: jsonLogger(e.logs), Now: e.clock.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = e.srv.Close() })
	if !setup.keepLimit {
		e.srv.rateLimitN = 1 << 20
		e.srv.handler = e.srv.routes()
	}
	e.store = e.srv.store
	hs := httptest.NewServer(e.srv.Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e
}

// testStreamOptions are the stream options of cfg, in memory.
func testStreamOptions(cfg *config.Config) stream.Options {
	o := stream.OptionsFromConfig(cfg.NATS)
	o.Storage = jetstream.MemoryStorage
	return o
}

// writeTokens writes a tokens file into dir and returns its path.
func writeTokens(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "tokens")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// response is an answer of the API.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errorBody decodes an error answer and checks its status and code.
func (r response) wantError(t *testing.T, status int, code string) adminapi.Error {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d; want %d (body %s)", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type %q; want application/json", ct)
	}
	var body adminapi.ErrorBody
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if body.Error.Code != code || body.Error.Message == "" {
		t.Fatalf("error %+v; want code %q and a message", body.Error, code)
	}
	return body.Error
}

// decode checks the status and decodes the JSON body into v.
func (r response) decode(t *testing.T, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d; want %d (body %s)", r.status, status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
}

// request is one request to send: a body that is a string is sent as it is, anything else
// as JSON; Content-Type is application/json unless contentType is set.
type request struct {
	method, path, token string
	body                any
	contentType         string
	header              http.Header
}

// do sends req to the env's server.
func (e *env) do(req request) response {
	e.t.Helper()
	return send(e.t, http.DefaultClient, e.url, req)
}

// get sends GET path with token.
func (e *env) get(path, token string) response {
	e.t.Helper()
	return e.do(request{method: http.MethodGet, path: path, token: token})
}

// send sends req with client to base.
func send(t *testing.T, client *http.Client, base string, req request) response {
	t.Helper()
	var body io.Reader
	if req.body != nil {
		switch b := req.body.(type) {
		case string:
			body = strings.NewReader(b)
		default:
			data, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			body = bytes.NewReader(data)
		}
	}
	hr, err := http.NewRequestWithContext(t.Context(), req.method, base+req.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range req.header {
		hr.Header[k] = v
	}
	if req.body != nil {
		ct := req.contentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if req.token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.token)
	}
	res, err := client.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// dlq opens the env's DLQ for arranging dead letters.
func (e *env) dlq() *stream.DLQ {
	e.t.Helper()
	q, err := stream.NewDLQ(e.t.Context(), e.js, testStreamOptions(e.cfg))
	if err != nil {
		e.t.Fatal(err)
	}
	return q
}

// putDeadLetter writes a dead letter of an audit event of type typ with uid to sink and
// returns its id; adjust changes the original's headers.
func (e *env) putDeadLetter(sink, typ, uid, reason string, seq uint64, body []byte, adjust ...func(nats.Header)) uint64 {
	e.t.Helper()
	ev := event.Event{Kind: event.Audit, Type: typ, UID: uid, Time: t0, Body: body}
	h := eventHeader(ev)
	for _, a := range adjust {
		a(h)
	}
	id, err := e.dlq().Put(e.t.Context(), stream.DeadLetter{
		Sink: sink, Reason: reason, Attempts: 3, OriginalSubject: ev.Subject(), OriginalSeq: seq,
		Header: h, Body: body,
	})
	if err != nil {
		e.t.Fatalf("DLQ.Put: %v", err)
	}
	return id
}

// eventHeader is the headers ingest gives an audit event's message.
func eventHeader(ev event.Event) nats.Header {
	h := nats.Header{}
	h.Set(nats.MsgIdHdr, ev.UID)
	h.Set(event.HeaderKind, string(ev.Kind))
	h.Set(event.HeaderType, ev.Type)
	h.Set(event.HeaderUID, ev.UID)
	h.Set(event.HeaderTime, ev.Time.Format(time.RFC3339Nano))
	return h
}

// streamMsg reads message seq of the events stream.
func (e *env) streamMsg(seq uint64) *jetstream.RawStreamMsg {
	e.t.Helper()
	s, err := e.js.Stream(e.t.Context(), e.cfg.NATS.Stream)
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := s.GetMsg(e.t.Context(), seq)
	if err != nil {
		e.t.Fatalf("GetMsg(%d): %v", seq, err)
	}
	return m
}

// publish puts an audit event on the events stream.
func (e *env) publish(typ, uid string) {
	e.t.Helper()
	ev := event.Event{Kind: event.Audit, Type: typ, UID: uid, Time: t0, Body: []byte(`{"event":"` + typ + `"}`)}
	msg := &nats.Msg{Subject: ev.Subject(), Header: eventHeader(ev), Data: ev.Body}
	if _, err := e.js.PublishMsg(e.t.Context(), msg); err != nil {
		e.t.Fatal(err)
	}
}

// auditRecords are the "admin action" log lines of route (e.g. "POST /v1/replays").
func (e *env) auditRecords(route string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, rec := range e.logs.records(e.t, "admin action") {
		if rec["route"] == route {
			out = append(out, rec)
		}
	}
	return out
}

// waitFor polls cond every 10 ms until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pki is a test CA with a server certificate for 127.0.0.1 and client certificates.
type pki struct {
	t       *testing.T
	dir     string
	caCert  *x509.Certificate
	caKey   *ecdsa.PrivateKey
	caFile  string
	pool    *x509.CertPool
	srvCert string
	srvKey  string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{t: t, dir: t.TempDir()}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p.caCert, _ = x509.ParseCertificate(der)
	p.caKey = key
	p.caFile = p.writePEM("ca.pem", "CERTIFICATE", der)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(p.caCert)
	p.srvCert, p.srvKey = p.issue("server", pkix.Name{CommonName: "admin"}, x509.ExtKeyUsageServerAuth)
	return p
}

func (p *pki) writePEM(name, typ string, der []byte) string {
	p.t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	return path
}

var serial = big.NewInt(100)
var serialMu sync.Mutex

// issue signs a key pair for subject and returns the certificate and key files.
func (p *pki) issue(name string, subject pkix.Name, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	p.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	serialMu.Lock()
	serial = new(big.Int).Add(serial, big.NewInt(1))
	sn := serial
	serialMu.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		p.t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.writePEM(name+".pem", "CERTIFICATE", der), p.writePEM(name+"-key.pem", "EC PRIVATE KEY", kd)
}

// client returns an HTTPS client that trusts the CA and presents the client certificate
// certFile/keyFile when given.
func (p *pki) client(certFile, keyFile string) *http.Client {
	p.t.Helper()
	c := &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			p.t.Fatal(err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	tr := &http.Transport{TLSClientConfig: c}
	p.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// serve runs srv.Serve on a fresh 127.0.0.1 listener until the test ends, and returns the
// base URL with scheme.
func serve(t *testing.T, srv *Server, scheme string) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return scheme + "://" + lis.Addr().String()
}

// newRecorder serves one request to h and returns the recorder.
func newRecorder(h http.Handler, method, path string, body io.Reader) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, body))
	return rec
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// ensureStreams creates the env's streams (for envs made withoutStreams).
func ensureStreams(e *env) error { return stream.Ensure(e.t.Context(), e.js, testStreamOptions(e.cfg)) }
