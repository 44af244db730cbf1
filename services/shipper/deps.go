package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/health"
	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/sink/datadog"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd"
	"github.com/auditpipe/auditpipe/pkg/sink/lock"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

const (
	// pingTimeout bounds the Redis PING at start.
	pingTimeout = 10 * time.Second
	// flushTimeout bounds sending the last acks and naks before the connection closes.
	flushTimeout = 5 * time.Second
	// lockBatch is the lock sink's batch: it reads only user.login events, and counts a
	// batch in one Redis call.
	lockBatch = 100
)

// deps are the clients and sinks the engine works with. The zero value and a partly built
// one are valid: close closes what was made.
type deps struct {
	nats     *nats.Conn
	js       jetstream.JetStream
	targets  []shipper.Target
	fluentd  *fluentd.Sink
	redis    redis.UniversalClient
	teleport *teleportsrc.Client
}

// connect connects to NATS and builds the sinks of shipper.sinks, fastest failure first, and
// registers a readiness check on hs for each dependency: NATS (connected), and for the lock
// sink Redis (answers PING) and Teleport (teleportsrc's check). On error it returns what it
// made so far, for the caller to close.
func connect(ctx context.Context, cfg *config.Config, reg prometheus.Registerer, log *slog.Logger, hs *health.Server) (*deps, error) {
	d := &deps{}
	var err error
	if d.nats, err = connectNATS(cfg.NATS, log); err != nil {
		return d, err
	}
	if d.js, err = jetstream.New(d.nats); err != nil {
		return d, fmt.Errorf("nats: JetStream: %w", err)
	}
	nc := d.nats
	hs.AddCheck("nats", func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("nats: %s", nc.Status())
		}
		return nil
	})

	for _, name := range cfg.Shipper.Sinks {
		var t shipper.Target
		switch name {
		case config.SinkFluentd:
			if d.fluentd, err = fluentd.New(cfg.Forward.Fluentd, fluentd.WithRegisterer(reg)); err != nil {
				return d, fmt.Errorf("forward.fluentd: %w", err)
			}
			t = shipper.Target{Sink: d.fluentd, Batch: cfg.Forward.Fluentd.Batch}
		case config.SinkDatadog:
			s, err := datadog.New(cfg.Forward.Datadog, datadog.WithRegisterer(reg), datadog.WithLogger(log))
			if err != nil {
				return d, fmt.Errorf("forward.datadog: %w", err)
			}
			batch := cfg.Forward.Datadog.Batch
			if batch == 0 { // the sink's own default
				batch = datadog.MaxItems
			}
			t = shipper.Target{Sink: s, Batch: batch}
		case config.SinkLock:
			s, err := d.lockSink(ctx, cfg, reg, log, hs)
			if err != nil {
				return d, err
			}
			login := event.Event{Kind: event.Audit, Type: "user.login"}
			t = shipper.Target{Sink: s, Batch: lockBatch, Subjects: []string{login.Subject()}}
		default: // config.ValidateFor refuses other names
			return d, fmt.Errorf("shipper.sinks: unknown sink %q", name)
		}
		d.targets = append(d.targets, t)
	}
	return d, nil
}

// lockSink builds the lock sink: a Redis client (checked with PING) and a Teleport client
// (teleportsrc.New waits until Teleport answers or ctx ends).
func (d *deps) lockSink(ctx context.Context, cfg *config.Config, reg prometheus.Registerer, log *slog.Logger, hs *health.Server) (*lock.Sink, error) {
	lockCfg := lock.ConfigFrom(cfg)
	if err := lockCfg.Validate(); err != nil {
		return nil, err
	}
	rdb, err := newRedis(cfg.Redis)
	if err != nil {
		return nil, err
	}
	d.redis = rdb
	pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
	err = rdb.Ping(pingCtx).Err()
	cancel()
	if err != nil {
		return nil, fmt.Errorf("redis: PING %s: %w", redisTarget(cfg.Redis), err)
	}
	hs.AddCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })

	log.Info("connecting to Teleport for the lock sink", "addr", cfg.Teleport.Addr)
	if d.teleport, err = teleportsrc.New(ctx, cfg.Teleport, teleportsrc.WithLogger(log), teleportsrc.WithRegisterer(reg)); err != nil {
		return nil, fmt.Errorf("teleport: %w", err)
	}
	hs.AddCheck("teleport", d.teleport.Ready)
	s, err := lock.New(rdb, d.teleport, lockCfg, lock.WithRegisterer(reg), lock.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("lock sink: %w", err)
	}
	return s, nil
}

// close sends what the connection still buffers (the last naks of a drain), then closes
// every client made. The engine must have returned.
func (d *deps) close() error {
	var errs []error
	if d.fluentd != nil {
		d.fluentd.Close()
	}
	if d.teleport != nil {
		errs = append(errs, d.teleport.Close())
	}
	if d.redis != nil {
		errs = append(errs, d.redis.Close())
	}
	if d.nats != nil {
		if d.nats.IsConnected() {
			if err := d.nats.FlushTimeout(flushTimeout); err != nil {
				errs = append(errs, fmt.Errorf("nats: flush: %w", err))
			}
		}
		d.nats.Close()
	}
	return errors.Join(errs...)
}

// connectNATS connects to nats.url with nats.creds, as "auditpipe-shipper <host>-<pid>", and
// reconnects forever after a loss, logging each loss and recovery. The first connection must
// succeed: a replica that cannot reach NATS at start exits with the error.
func connectNATS(cfg config.NATS, log *slog.Logger) (*nats.Conn, error) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "shipper"
	}
	opts := []nats.Option{
		nats.Name("auditpipe-shipper " + host + "-" + strconv.Itoa(os.Getpid())),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("NATS connection lost; reconnecting", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("NATS error", "err", err)
		}),
	}
	if cfg.Creds != "" {
		opts = append(opts, nats.UserCredentials(cfg.Creds))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %w", cfg.URL, err)
	}
	return nc, nil
}

// newRedis returns a client for redis.url (as go-redis parses it) or redis.addr, with
// redis.username, the password in redis.password-file (read once, here) and redis.tls. Its
// calls end with their context, as the lock sink needs. It does not connect.
func newRedis(cfg config.Redis) (redis.UniversalClient, error) {
	password, err := cfg.Password()
	if err != nil {
		return nil, fmt.Errorf("redis.password-file: %w", err)
	}
	tc, err := redisTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	if cfg.URL == "" {
		return redis.NewUniversalClient(&redis.UniversalOptions{
			Addrs:                 []string{cfg.Addr},
			Username:              cfg.Username,
			Password:              password.Reveal(),
			TLSConfig:             tc,
			ContextTimeoutEnabled: true,
		}), nil
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	opts.ContextTimeoutEnabled = true
	if cfg.Username != "" {
		opts.Username = cfg.Username
	}
	if password.Reveal() != "" {
		opts.Password = password.Reveal()
	}
	if tc != nil {
		if opts.TLSConfig != nil { // rediss://: keep the server name ParseURL took from the host
			tc.ServerName = opts.TLSConfig.ServerName
		}
		opts.TLSConfig = tc
	}
	return redis.NewClient(opts), nil
}

// redisTarget names the Redis server in errors: redis.addr, or redis.url (which holds no
// credentials: config refuses them).
func redisTarget(cfg config.Redis) string {
	if cfg.URL != "" {
		return cfg.URL
	}
	return cfg.Addr
}

// redisTLS is the TLS setup of redis.tls: nil when disabled; else TLS 1.2 or later, the server
// verified against redis.tls.ca (the system roots without it), and the client key pair when
// redis.tls.cert and redis.tls.key are set. Errors name the key and file, never the content.
func redisTLS(t config.ClientTLS) (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CA != "" {
		pem, err := readFile("redis.tls.ca", t.CA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis.tls.ca: %s holds no PEM certificate", t.CA)
		}
		tc.RootCAs = pool
	}
	if t.Cert != "" || t.Key != "" {
		certPEM, err := readFile("redis.tls.cert", t.Cert)
		if err != nil {
			return nil, err
		}
		keyPEM, err := readFile("redis.tls.key", t.Key)
		if err != nil {
			return nil, err
		}
		// crypto/tls's errors describe the PEM blocks and whether the key matches the
		// certificate; they never quote key material.
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("redis.tls.cert %s and redis.tls.key %s: %w", t.Cert, t.Key, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// readFile reads the file of configuration key key, with an error that names the key and the
// file but not the content.
func readFile(key, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: cannot read %s: %w", key, path, err)
	}
	return b, nil
}
