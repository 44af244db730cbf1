// Package datadogtest is a fake Datadog Logs intake for tests: an httptest server that answers
// POST <base>/api/v2/logs as Datadog documents it, records what it accepts, and fails on
// request. It is the datadog sink's peer in the sinktest suite and in the shipper's tests.
//
// What it enforces, in this order, for every request:
//   - the DD-API-KEY header: 401 when missing; when wrong, 401, or 403 with [WrongKeyForbidden]
//     (Datadog documents 401 for a missing key and 403 for an invalid one);
//   - Content-Encoding gzip, deflate or none (400 when the body does not decompress, or is
//     not compressed under [RequireGzip]);
//   - at most 5 MB (5,000,000 bytes) of JSON after decompression: 413;
//   - a JSON array of log items (or one item), each an object: 400 otherwise;
//   - at most 1000 items: 413 (Datadog's documentation lists the limit without its status;
//     413 is its "payload too large");
//   - an item whose message is over 1 MB (1,000,000 bytes) is truncated to that size and
//     kept, marked Truncated, and the request still answered 202, as Datadog documents.
//
// Success is 202 with the body "{}". Failures set with [Intake.Fail], [Intake.FailNext] and
// [Intake.FailRandomly] come before every check, after the request body was read.
package datadogtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// The intake's limits, as Datadog documents them (MB read as 10^6 bytes).
const (
	MaxItems        = 1000
	MaxPayloadBytes = 5_000_000
	MaxItemBytes    = 1_000_000
)

// Intake is a running fake intake. It is safe for concurrent use.
type Intake struct {
	srv     *httptest.Server
	key     string
	opts    options
	closing chan struct{} // closed when the test ends: hung requests return

	mu       sync.Mutex
	items    []Item
	accepted int
	requests []Request
	failures failures
	latency  time.Duration
}

// Option changes how [New] builds an Intake.
type Option func(*options)

type options struct {
	key          string
	tls          bool
	requireGzip  bool
	wrongKey403  bool
	discardItems bool
}

// WithAPIKey makes key the only API key the intake accepts; without it, a random key.
func WithAPIKey(key string) Option { return func(o *options) { o.key = key } }

// TLS serves https with httptest's certificate; use [Intake.Client] to trust it.
func TLS() Option { return func(o *options) { o.tls = true } }

// RequireGzip answers 400 to a request whose body is not gzip-compressed.
func RequireGzip() Option { return func(o *options) { o.requireGzip = true } }

// WrongKeyForbidden answers a wrong API key with 403 instead of 401.
func WrongKeyForbidden() Option { return func(o *options) { o.wrongKey403 = true } }

// DiscardItems checks and counts items but keeps none, for benchmarks: [Intake.Received]
// and [Intake.Items] stay empty, [Intake.Accepted] counts.
func DiscardItems() Option { return func(o *options) { o.discardItems = true } }

// New starts an intake and stops it when t's test ends, after ending hung requests.
func New(t testing.TB, opts ...Option) *Intake {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.key == "" {
		o.key = randomKey(t)
	}
	in := &Intake{key: o.key, opts: o, closing: make(chan struct{})}
	handler := http.HandlerFunc(in.serve)
	if o.tls {
		in.srv = httptest.NewTLSServer(handler)
	} else {
		in.srv = httptest.NewServer(handler)
	}
	t.Cleanup(func() {
		close(in.closing)
		in.srv.Close()
	})
	return in
}

// URL is the intake's base URL, for forward.datadog.url: the sink appends /api/v2/logs.
// Any path prefix before /api/v2/logs is served too (see [Request.Path]).
func (in *Intake) URL() string { return in.srv.URL }

// APIKey is the key the intake accepts.
func (in *Intake) APIKey() string { return in.key }

// Secrets returns the API key: what must never show in a sink's Reason, error or log.
func (in *Intake) Secrets() []string { return []string{in.key} }

// Client returns an HTTP client that trusts the intake's certificate (with [TLS]).
func (in *Intake) Client() *http.Client { return in.srv.Client() }

// Config returns the default forward.datadog section pointed at the intake: url set, and
// api-key-file a file in a t.TempDir holding the key.
func (in *Intake) Config(t testing.TB) config.Datadog {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dd-api-key")
	if err := os.WriteFile(path, []byte(in.key+"\n"), 0o600); err != nil {
		t.Fatalf("datadogtest: write the API key file: %v", err)
	}
	cfg := config.Default().Forward.Datadog
	cfg.URL = in.URL()
	cfg.APIKeyFile = path
	return cfg
}

// Received returns the message of every item the intake accepted, in arrival order, as the
// event JSON the sink sent (a truncated message, cut at 1 MB, is not valid JSON).
func (in *Intake) Received() []json.RawMessage {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]json.RawMessage, len(in.items))
	for i, it := range in.items {
		out[i] = json.RawMessage(it.Message)
	}
	return out
}

// Items returns every item the intake accepted, in arrival order.
func (in *Intake) Items() []Item {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Item, len(in.items))
	copy(out, in.items)
	return out
}

// Accepted is how many items the intake accepted.
func (in *Intake) Accepted() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.accepted
}

// Requests returns every request the intake answered or failed, in arrival order.
func (in *Intake) Requests() []Request {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Request, len(in.requests))
	copy(out, in.requests)
	return out
}

func randomKey(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("datadogtest: random API key: %v", err)
	}
	return hex.EncodeToString(b)
}
