// Package teleportsrc is auditpipe's boundary with Teleport: a client of the Auth Service's
// audit-log API that reads the audit log (search and bulk export) and session recordings as
// event.Event values, keeps its credentials current, and turns Teleport's errors into the
// decisions the ingest engine takes (Classify).
package teleportsrc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gravitational/teleport/api/client"
	apidefaults "github.com/gravitational/teleport/api/defaults"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/filewatch"
)

const (
	// MaxMessageSize is the largest gRPC message the Client accepts. gRPC's default, 4 MiB, is
	// below what a search page can hold: Teleport serves an event over its 1 MiB page budget
	// alone, Athena events can be several MiB, and a page of large events exceeds 4 MiB.
	MaxMessageSize = 64 << 20
	// DefaultDialTimeout bounds one connection attempt (Teleport's client default).
	DefaultDialTimeout = apidefaults.DefaultIOTimeout
	// DefaultRetryTimeout is how long a read keeps retrying transient failures (see
	// WithRetryTimeout).
	DefaultRetryTimeout = 30 * time.Second
)

// Option configures New.
type Option func(*options)

type options struct {
	logger       *slog.Logger
	registerer   prometheus.Registerer
	dialTimeout  time.Duration
	retryTimeout time.Duration
}

// WithLogger sets the logger for connection, credential and retry events (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithRegisterer registers the Client's metrics on r (default: not registered). The metrics
// are auditpipe_teleport_connected, _reconnects_total, _errors_total{method,code},
// _cert_expiry_timestamp_seconds and _credential_reloads_total{result}; register one Client
// per registry.
func WithRegisterer(r prometheus.Registerer) Option { return func(o *options) { o.registerer = r } }

// WithDialTimeout bounds one connection attempt (default DefaultDialTimeout).
func WithDialTimeout(d time.Duration) Option { return func(o *options) { o.dialTimeout = d } }

// WithRetryTimeout sets how long a read retries transient failures (the Retry class of
// Classify) with backoff before it returns the error, counted from its last progress (default
// DefaultRetryTimeout). 0 disables retrying inside the Client: every failure is returned.
func WithRetryTimeout(d time.Duration) Option { return func(o *options) { o.retryTimeout = d } }

// Client reads a Teleport cluster's audit log and session recordings over one gRPC connection.
//
// The connection is re-established by gRPC with backoff whenever it is lost; the Client logs
// each loss and recovery and exposes them in metrics, and its reads retry transient failures
// (see WithRetryTimeout), resuming streams where they stopped. Credentials from an identity
// file with teleport.refresh.enabled are reloaded when the file changes, every
// teleport.refresh.interval and on Reload.
//
// All methods are safe for concurrent use; reads share the connection. The caller owns the
// Client and must Close it; reads running at Close fail with an error Classify calls Canceled.
type Client struct {
	clt          *client.Client
	creds        *credentials
	log          *slog.Logger
	metrics      *metrics
	retryTimeout time.Duration
	// bg lives from New to Close; the Client's goroutines run under it.
	bg     context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// watcher reloads the identity file; nil when the credentials are not reloaded.
	watcher *filewatch.Watcher

	closeOnce sync.Once
	closeErr  error
}

// New connects to the Teleport Auth Service or Proxy at cfg.Addr with the credentials cfg
// names: an identity file (cfg.Identity), or a key pair (cfg.Cert, cfg.Key, cfg.CA). A Proxy
// address needs an identity file: Teleport's client reaches the Auth Service through a Proxy
// with the identity's SSH certificate (tunnel or TLS routing); a key pair dials cfg.Addr as an
// Auth Service only.
//
// ctx bounds the connection only. New retries failed connection attempts with backoff until
// ctx ends, logging each failure, so a replica started before Teleport is reachable waits for
// it; it gives up at once on errors no retry can fix: unreadable or expired credentials, or
// Teleport refusing access. A connection counts once Teleport answers a Ping (a TLS 1.3 server
// rejects a client certificate only after the handshake). Errors wrap ErrCredentials,
// ErrCertExpired, ErrInvalidArgument or the last connection error.
func New(ctx context.Context, cfg config.Teleport, opts ...Option) (*Client, error) {
	o := options{
		logger:       slog.New(slog.DiscardHandler),
		dialTimeout:  DefaultDialTimeout,
		retryTimeout: DefaultRetryTimeout,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if err := validate(cfg); err != nil {
		return nil, err
	}
	m, err := newMetrics(o.registerer)
	if err != nil {
		return nil, err
	}
	log := o.logger.With("teleport_addr", cfg.Addr)
	creds, err := loadCredentials(cfg, log, m)
	if err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	c := &Client{
		creds:        creds,
		log:          log,
		metrics:      m,
		retryTimeout: o.retryTimeout,
		bg:           bg,
		cancel:       cancel,
	}
	if creds.identity != nil {
		// Watch while connecting too: tbot may renew the identity during a long outage.
		c.watcher = creds.watch(cfg.Refresh.Interval)
	}
	clt, err := c.connect(ctx, client.Config{
		Addrs:       []string{cfg.Addr},
		Credentials: []client.Credentials{creds},
		DialTimeout: o.dialTimeout,
		DialOpts: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize)),
			// Reconnect after a loss as soon as the server is back, within half a minute:
			// gRPC's default backoff grows to 2 minutes.
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           grpcbackoff.Config{BaseDelay: time.Second, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 30 * time.Second},
				MinConnectTimeout: o.dialTimeout,
			}),
			// The ingest polls continuously; an idle channel would only read as a lost one.
			grpc.WithIdleTimeout(0),
		},
	})
	if err != nil {
		_ = c.stop() // the connection's error is the one that matters
		return nil, err
	}
	c.clt = clt
	c.metrics.connected.Set(1)
	expiry := c.checkExpiry(ctx) // warn now if the certificate is already close to expiry
	c.wg.Go(func() { c.watchExpiry(bg, expiry) })
	c.wg.Go(func() { c.watchConnection(bg) })
	return c, nil
}

// validate checks the part of cfg New depends on; config.Validate reports the rest.
func validate(cfg config.Teleport) error {
	pair := cfg.CA != "" || cfg.Cert != "" || cfg.Key != ""
	switch {
	case cfg.Addr == "":
		return fmt.Errorf("%w: teleport.addr is empty", ErrInvalidArgument)
	case cfg.Identity != "" && pair:
		return fmt.Errorf("%w: set either teleport.identity or teleport.ca, teleport.cert and teleport.key, not both", ErrInvalidArgument)
	case cfg.Identity == "" && (cfg.CA == "" || cfg.Cert == "" || cfg.Key == ""):
		return fmt.Errorf("%w: set teleport.identity, or all of teleport.ca, teleport.cert and teleport.key", ErrInvalidArgument)
	}
	return nil
}

// connect dials Teleport as teleport-event-handler does (client.New tries cfg.Addrs as an Auth
// Service address and, with an identity file's SSH certificate, as a Proxy: direct, reverse
// tunnel and TLS routing; the TLS server name is always teleport.cluster.local) and pings it,
// retrying with backoff until ctx ends or an error is not Retry.
func (c *Client) connect(ctx context.Context, cfg client.Config) (*client.Client, error) {
	var clt *client.Client
	err := c.retry(ctx, methodConnect, forever, func() (bool, error) {
		if exp := c.creds.expiry(); !time.Now().Before(exp) {
			return false, fmt.Errorf("%w at %s", ErrCertExpired, exp.Format(time.RFC3339))
		}
		var err error
		clt, err = client.New(ctx, cfg)
		if err != nil {
			return false, err
		}
		pong, err := clt.Ping(ctx)
		if err != nil {
			_ = clt.Close()
			return false, err
		}
		c.log.InfoContext(ctx, "Connected to Teleport",
			"cluster", pong.ClusterName, "server_version", pong.ServerVersion, "cert_expiry", c.creds.expiry())
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return clt, nil
}

// watchConnection follows the state of the gRPC connection until ctx ends: it logs when the
// connection is lost and when it is back, and keeps the connected gauge and the reconnect
// counter. gRPC re-dials a lost connection with backoff (WithConnectParams); a connection that
// fell back to idle is asked to connect at once rather than at the next call.
func (c *Client) watchConnection(ctx context.Context) {
	conn := c.clt.GetConnection()
	state := connectivity.Ready
	var lostAt time.Time
	for conn.WaitForStateChange(ctx, state) {
		state = conn.GetState()
		switch {
		case state == connectivity.Ready:
			c.metrics.connected.Set(1)
			if !lostAt.IsZero() {
				c.metrics.reconnects.Inc()
				c.log.InfoContext(ctx, "Reconnected to Teleport", "down_for", time.Since(lostAt).Round(time.Millisecond).String())
				lostAt = time.Time{}
			}
		case lostAt.IsZero():
			c.metrics.connected.Set(0)
			lostAt = time.Now()
			c.log.WarnContext(ctx, "Lost the connection to Teleport; reconnecting with backoff", "state", state.String())
		}
		if state == connectivity.Idle {
			conn.Connect()
		}
	}
}

// Reload re-reads the identity file now (the ingest service calls it on SIGHUP). The
// connections made from then on present the new certificate; CertExpiry reports it. On error
// the current certificate stays in use. It returns ErrReloadDisabled unless the Client uses an
// identity file with teleport.refresh.enabled, and an error wrapping ErrCredentials when the
// file cannot be read.
func (c *Client) Reload() error {
	return c.creds.reload(c.bg, "explicit")
}

// stop ends the Client's background work: its goroutines and the identity file's watcher.
func (c *Client) stop() error {
	c.cancel()
	c.wg.Wait()
	if c.watcher != nil {
		return c.watcher.Close()
	}
	return nil
}

// Close stops the Client's background work and closes the connection; reads still running
// fail. Close may be called more than once; later calls return the first call's result.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = errors.Join(c.stop(), c.clt.Close())
		c.metrics.connected.Set(0)
	})
	return c.closeErr
}
