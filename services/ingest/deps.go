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
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/health"
	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// pingTimeout bounds the Redis PING at start.
const pingTimeout = 10 * time.Second

// deps are the clients the engine works with. The zero value and a partly built one are
// valid: close closes what was made.
type deps struct {
	redis    redis.UniversalClient
	nats     *nats.Conn // nil in dry-run
	js       jetstream.JetStream
	teleport *teleportsrc.Client
}

// connect makes the clients the engine configured by eng needs, fastest failure first, and
// registers a readiness check on hs for each: Redis (answers PING at start), NATS (connected;
// skipped in dry-run, which publishes nothing) and Teleport (waits until Teleport answers or
// ctx ends; teleportsrc.New). On error it returns what it made so far, for the caller to close.
func connect(ctx context.Context, cfg *config.Config, eng ingest.Config, reg prometheus.Registerer, logger *slog.Logger, hs *health.Server) (*deps, error) {
	d := &deps{}
	rdb, err := newRedis(cfg.Redis)
	if err != nil {
		return d, err
	}
	d.redis = rdb
	pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
	err = rdb.Ping(pingCtx).Err()
	cancel()
	if err != nil {
		return d, fmt.Errorf("redis: PING %s: %w", redisTarget(cfg.Redis), err)
	}
	hs.AddCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })

	if !eng.DryRun {
		if d.nats, err = connectNATS(cfg.NATS, eng.Owner, logger); err != nil {
			return d, err
		}
		// The engine keeps at most its MaxPending messages unacknowledged; the client's own
		// bound must not be lower.
		d.js, err = jetstream.New(d.nats, jetstream.WithPublishAsyncMaxPending(eng.MaxPending))
		if err != nil {
			return d, fmt.Errorf("nats: JetStream: %w", err)
		}
		nc := d.nats
		hs.AddCheck("nats", func(context.Context) error {
			if !nc.IsConnected() {
				return fmt.Errorf("nats: %s", nc.Status())
			}
			return nil
		})
	}

	logger.Info("connecting to Teleport", "addr", cfg.Teleport.Addr)
	if d.teleport, err = teleportsrc.New(ctx, cfg.Teleport, teleportsrc.WithLogger(logger), teleportsrc.WithRegisterer(reg)); err != nil {
		return d, err // "teleportsrc: …", naming the file or the call that failed
	}
	hs.AddCheck("teleport", d.teleport.Ready)
	return d, nil
}

// close closes every client made, Teleport first. The engine must have returned.
func (d *deps) close() error {
	var errs []error
	if d.teleport != nil {
		errs = append(errs, d.teleport.Close())
	}
	if d.nats != nil {
		d.nats.Close()
	}
	if d.redis != nil {
		errs = append(errs, d.redis.Close())
	}
	return errors.Join(errs...)
}

// newRedis returns a client for redis.url (as go-redis parses it) or redis.addr, with
// redis.username, the password in redis.password-file (read once, here) and redis.tls. It
// does not connect.
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
			Addrs:     []string{cfg.Addr},
			Username:  cfg.Username,
			Password:  password.Reveal(),
			TLSConfig: tc,
		}), nil
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
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

// connectNATS connects to nats.url with nats.creds, as "auditpipe-ingest <owner>", and
// reconnects forever after a loss, logging each loss and recovery. The first connection must
// succeed: a replica that cannot reach NATS at start exits with the error.
func connectNATS(cfg config.NATS, owner string, logger *slog.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("auditpipe-ingest " + owner),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: closed by this process
				logger.Warn("NATS connection lost; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			logger.Warn("NATS error", "err", err)
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
