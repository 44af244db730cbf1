package demo

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// Tags of the receiver's URLs: audit events arrive at /teleport.audit, recordings at
// /teleport.session.<sid>.log, as with teleport-event-handler's generated fluent.conf.
const (
	auditTag   = "teleport.audit"
	sessionTag = "teleport.session"
	// bodyLimit is in_http's default body_size_limit.
	bodyLimit = 32 << 20
)

// receiver is the demo's local Fluentd: an HTTPS server that answers as Fluentd's in_http does
// with `<transport tls>` and `client_cert_auth true` (mutual TLS 1.2+, POST of a JSON object or
// array to /<tag>, 200 on success, 400 for a body that does not parse, 413 over the body size
// limit). Unlike Fluentd (and unlike fluentdtest, which keeps every record for tests) it keeps
// no record: it counts them, by event type and, for audit events, by uid, so that the demo can
// show what arrived and its tests can prove what arrived how often.
//
// It can be told to refuse event types (rejectTypes): a request holding one is answered 400,
// as Fluentd answers a record its parser refuses, and the fluentd sink dead-letters the
// request's events.
type receiver struct {
	srv   *http.Server
	lis   net.Listener
	url   string // https://127.0.0.1:port
	files receiverFiles
	log   *slog.Logger
	done  chan struct{} // closed when Serve returned
	err   error         // Serve's error, set before done is closed

	mu       sync.Mutex
	byType   map[string]int // events accepted, by type (audit and recordings)
	audit    map[string]int // audit events accepted, by uid
	total    int            // events accepted
	sessions int            // recording events accepted
	requests int            // requests answered 200
	refused  int            // events in requests answered 400 because of rejectTypes
	reject   map[string]bool
}

// receiverFiles are the PEM files the receiver writes for its clients.
type receiverFiles struct {
	CA, Cert, Key string
}

// newReceiver makes the receiver's CA, server and client certificates (files in dir), and
// listens on a free port of 127.0.0.1. serve starts serving.
func newReceiver(dir string, log *slog.Logger) (*receiver, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ca, err := newCA("auditpipe demo fluentd CA")
	if err != nil {
		return nil, err
	}
	server, err := ca.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return nil, err
	}
	client, err := ca.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "auditpipe"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, err
	}
	r := &receiver{
		log:    log,
		done:   make(chan struct{}),
		byType: map[string]int{},
		audit:  map[string]int{},
		files: receiverFiles{
			CA:   filepath.Join(dir, "ca.crt"),
			Cert: filepath.Join(dir, "client.crt"),
			Key:  filepath.Join(dir, "client.key"),
		},
	}
	for path, data := range map[string][]byte{r.files.CA: ca.certPEM, r.files.Cert: client.certPEM, r.files.Key: client.keyPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
	}
	pair, err := tls.X509KeyPair(server.certPEM, server.keyPEM)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	r.lis = tls.NewListener(lis, &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	})
	r.url = "https://" + lis.Addr().String()
	r.srv = &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return r, nil
}

// serve serves until close.
func (r *receiver) serve() {
	err := r.srv.Serve(r.lis)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	r.err = err
	close(r.done)
}

// close stops the receiver, letting requests in flight finish until ctx ends.
func (r *receiver) close(ctx context.Context) error {
	err := r.srv.Shutdown(ctx)
	if err != nil {
		_ = r.srv.Close()
	}
	<-r.done
	return errors.Join(err, r.err)
}

// sinkConfig is the [forward.fluentd] section that sends to this receiver.
func (r *receiver) sinkConfig(base config.Fluentd) config.Fluentd {
	base.URL = r.url + "/" + auditTag
	base.SessionURL = r.url + "/" + sessionTag
	base.CA, base.Cert, base.Key = r.files.CA, r.files.Cert, r.files.Key
	return base
}

// rejectTypes makes the receiver refuse (400) every request holding an event of one of types,
// replacing the previous list; none accepts everything again.
func (r *receiver) rejectTypes(types ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reject = map[string]bool{}
	for _, t := range types {
		r.reject[t] = true
	}
}

// record is what the receiver reads of an event.
type record struct {
	Event string `json:"event"`
	UID   string `json:"uid"`
}

// ServeHTTP is in_http: read, parse, count, answer.
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "405 Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	tag := strings.Join(strings.FieldsFunc(req.URL.Path, func(c rune) bool { return c == '/' }), ".")
	if tag == "" {
		http.Error(w, "400 Bad Request\nmissing tag", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, bodyLimit+1))
	if err != nil {
		return // the client went away
	}
	if len(body) > bodyLimit {
		http.Error(w, "413 Payload Too Large", http.StatusRequestEntityTooLarge)
		return
	}
	records, err := parseRecords(req.Header, body)
	if err != nil {
		http.Error(w, "400 Bad Request\n"+err.Error(), http.StatusBadRequest)
		return
	}
	audit := tag == auditTag

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range records {
		if r.reject[rec.Event] {
			r.refused += len(records)
			http.Error(w, "400 Bad Request\nthe demo receiver refuses "+rec.Event+" events (fault injected)", http.StatusBadRequest)
			return
		}
	}
	for _, rec := range records {
		r.byType[rec.Event]++
		r.total++
		if audit {
			r.audit[rec.UID]++
		} else {
			r.sessions++
		}
	}
	r.requests++
	w.WriteHeader(http.StatusOK)
}

// parseRecords decodes the body (Content-Encoding gzip or none) and reads its records: one JSON
// object or an array of objects (application/json), or one object per line
// (application/x-ndjson).
func parseRecords(h http.Header, body []byte) ([]record, error) {
	switch enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if body, err = io.ReadAll(io.LimitReader(zr, 4*bodyLimit)); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
	mediaType, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	var raws []json.RawMessage
	switch mediaType {
	case "application/json":
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) > 0 && trimmed[0] == '[' {
			if err := json.Unmarshal(trimmed, &raws); err != nil {
				return nil, errors.New("invalid JSON")
			}
		} else {
			raws = []json.RawMessage{trimmed}
		}
	case "application/x-ndjson":
		for line := range bytes.SplitSeq(body, []byte("\n")) {
			if line = bytes.TrimSpace(line); len(line) > 0 {
				raws = append(raws, line)
			}
		}
	default:
		return nil, errors.New("'json' or 'ndjson' parameter is required")
	}
	records := make([]record, len(raws))
	for i, raw := range raws {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || raw[0] != '{' {
			return nil, fmt.Errorf("record %d is not a JSON object", i)
		}
		if err := json.Unmarshal(raw, &records[i]); err != nil {
			return nil, fmt.Errorf("record %d: invalid JSON", i)
		}
	}
	return records, nil
}

// counts is a snapshot of the receiver's counts.
type counts struct {
	Total, Sessions, Requests, Refused int
	ByType                             map[string]int
}

func (r *receiver) counts() counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return counts{Total: r.total, Sessions: r.sessions, Requests: r.requests, Refused: r.refused, ByType: maps.Clone(r.byType)}
}

// deliveries returns how often each audit event arrived, by uid (a copy).
func (r *receiver) deliveries() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.audit)
}

// ca is a certificate authority made for one run.
type ca struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// keyPair is a signed certificate and its key, PEM-encoded.
type keyPair struct{ certPEM, keyPEM []byte }

func newCA(name string) (*ca, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate the %s key: %w", name, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sign the %s: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &ca{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

func (a *ca) sign(tmpl *x509.Certificate) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate a key for %s: %w", tmpl.Subject.CommonName, err)
	}
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(30 * 24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", tmpl.Subject.CommonName, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &keyPair{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil || n.Sign() == 0 {
		return big.NewInt(1)
	}
	return n
}
