package admin

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/health"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/stream"
	"github.com/auditpipe/auditpipe/pkg/tlsfiles"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// Deps are the clients and hooks a Server uses. The caller owns the clients: Close does not
// close them.
type Deps struct {
	Redis     redis.UniversalClient
	JetStream jetstream.JetStream
	// Registry lists live replicas for /v1/status; nil builds one over Redis and the
	// configured key prefix.
	Registry *replicas.Registry
	// Registerer takes the HTTP metrics (auditpipe_admin_http_*) and the state metrics read
	// at each scrape (auditpipe_admin_replicas, auditpipe_admin_dlq_messages); nil registers
	// them nowhere. Servers that share a Registerer share the metrics: the state metrics
	// are read through the first Server.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics serves; nil serves prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Logger receives request, audit and error logs; nil discards them.
	Logger *slog.Logger
	// Now tells the time for validation ("to is in the future"), status, ETAs and the window
	// store; nil is time.Now.
	Now func() time.Time
}

// Server is the admin API. It is safe for concurrent use; its state lives in Redis and
// JetStream, so any number of Servers may serve the same pipeline.
type Server struct {
	cfg      *config.Config
	log      *slog.Logger
	now      func() time.Time
	rdb      redis.UniversalClient
	js       jetstream.JetStream
	prefix   string // redis.key-prefix
	store    *window.Store
	registry *replicas.Registry
	dlq      *dlqOpener
	health   *health.Server
	metrics  *httpMetrics
	auth     authenticator
	tls      *tls.Config // nil: plain HTTP
	// tlsFiles keeps admin.tls's files current for tls; nil for plain HTTP.
	tlsFiles *tlsfiles.Credentials
	// rateLimitN requests per rateWindow per client IP: RateLimit and RateWindow.
	rateLimitN int
	rateWindow time.Duration
	// pageBodyLimit bounds the bodies of a DLQ page: maxPageBody.
	pageBodyLimit int
	handler       http.Handler
}

// New checks the admin configuration, reads the tokens file and the TLS files (and watches
// them for changes until Close) and builds the router. Authentication must be configured:
// admin.tokens-file, admin.tls.client-ca, or, for development only, admin.insecure-no-auth
// (--insecure-dev-no-auth); otherwise New fails. admin.tls.client-ca needs admin.tls.cert and
// admin.tls.key. A file that cannot be used fails New with an error naming its setting and
// path; once New has returned, a change that cannot be used is logged and the previous
// content stays in force.
func New(cfg *config.Config, d Deps) (s *Server, err error) {
	if cfg == nil {
		return nil, errors.New("admin: nil config")
	}
	if d.Redis == nil || d.JetStream == nil {
		return nil, errors.New("admin: Deps.Redis and Deps.JetStream are required")
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	a := cfg.Admin
	if a.TokensFile == "" && a.TLS.ClientCA == "" && !a.InsecureNoAuth {
		return nil, errors.New("admin: no authentication configured: set admin.tokens-file or " +
			"admin.tls.client-ca, or pass --insecure-dev-no-auth (admin.insecure-no-auth) to serve " +
			"without authentication in development")
	}
	tlsConfig, tlsFiles, err := serverTLS(a.TLS, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && tlsFiles != nil {
			_ = tlsFiles.Close()
		}
	}()
	wcfg := window.DefaultConfig()
	if cfg.Redis.KeyPrefix != "" {
		wcfg.KeyPrefix = cfg.Redis.KeyPrefix
	}
	wcfg.Clock = clockFunc(now)
	store, err := window.New(d.Redis, wcfg)
	if err != nil {
		return nil, fmt.Errorf("admin: window store: %w", err)
	}
	registry := d.Registry
	if registry == nil {
		registry = replicas.New(d.Redis, wcfg.KeyPrefix)
	}
	metrics, err := newHTTPMetrics(d.Registerer)
	if err != nil {
		return nil, err
	}
	opts := stream.OptionsFromConfig(cfg.NATS)
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("admin: nats settings: %w", err)
	}
	s = &Server{
		cfg:      cfg,
		log:      log,
		now:      now,
		rdb:      d.Redis,
		js:       d.JetStream,
		prefix:   wcfg.KeyPrefix,
		store:    store,
		registry: registry,
		dlq:      &dlqOpener{js: d.JetStream, opts: opts},
		health:   newHealth(d.Redis, d.JetStream, d.Gatherer),
		metrics:  metrics,
		tls:      tlsConfig,
		tlsFiles: tlsFiles,

		rateLimitN:    RateLimit,
		rateWindow:    RateWindow,
		pageBodyLimit: maxPageBody,
	}
	if d.Registerer != nil {
		if _, err = register(d.Registerer, newStateCollector(s)); err != nil {
			return nil, err
		}
	}
	s.auth = authenticator{clientCerts: a.TLS.ClientCA != ""}
	if a.TokensFile != "" {
		if s.auth.tokens, err = openTokenFile(a.TokensFile, log); err != nil {
			return nil, err
		}
	}
	if s.auth.tokens == nil && !s.auth.clientCerts {
		s.auth.insecure = true
		log.Warn("admin API serving WITHOUT authentication (admin.insecure-no-auth): for development only")
	}
	s.handler = s.routes()
	return s, nil
}

// Handler returns the whole router: every route, with its middleware.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops watching the tokens file and the TLS files. The Server must not serve
// afterwards.
func (s *Server) Close() error {
	var errs []error
	if s.auth.tokens != nil {
		errs = append(errs, s.auth.tokens.Close())
	}
	if s.tlsFiles != nil {
		errs = append(errs, s.tlsFiles.Close())
	}
	return errors.Join(errs...)
}

// clockFunc makes a time function a window.Clock.
type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }

// serverTLS loads admin.tls: nil when no certificate is configured. The files are watched and
// re-read when they change (and every tlsfiles.DefaultInterval), so that each handshake gets
// the newest certificate and, with a client CA, verifies client certificates against the
// newest CA bundle; see package tlsfiles. A client CA makes the server ask for client
// certificates and verify those it gets (VerifyClientCertIfGiven), so clients without one can
// still use a bearer token, and probes reach /healthz. The caller closes the Credentials.
func serverTLS(t config.ServerTLS, log *slog.Logger) (*tls.Config, *tlsfiles.Credentials, error) {
	switch {
	case t.Cert == "" && t.Key == "" && t.ClientCA == "":
		return nil, nil, nil
	case t.Cert == "" || t.Key == "":
		return nil, nil, errors.New("admin: admin.tls.cert and admin.tls.key go together " +
			"(and admin.tls.client-ca needs both)")
	}
	files, err := tlsfiles.Open(tlsfiles.Config{
		Cert:     tlsfiles.File{Setting: "admin.tls.cert", Path: t.Cert},
		Key:      tlsfiles.File{Setting: "admin.tls.key", Path: t.Key},
		CA:       tlsfiles.File{Setting: "admin.tls.client-ca", Path: t.ClientCA},
		Interval: tlsfiles.DefaultInterval,
		Logger:   log,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("admin: %w", err)
	}
	template := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.ClientCA != "" {
		template.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return files.ServerConfig(template), files, nil
}
