package clients

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// PingTimeout bounds the PING of [PingRedis].
const PingTimeout = 10 * time.Second

// Redis returns a client for redis.url (as go-redis parses it) or redis.addr, with
// redis.username, the password in redis.password-file (read once, here) and redis.tls. Its
// calls end with their context. It does not connect.
func Redis(cfg config.Redis) (redis.UniversalClient, error) {
	password, err := cfg.Password()
	if err != nil {
		return nil, fmt.Errorf("redis.password-file: %w", err)
	}
	tc, err := clientTLS("redis.tls", cfg.TLS)
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

// RedisTarget names the Redis server in errors: redis.addr, or redis.url (which holds no
// credentials: config refuses them).
func RedisTarget(cfg config.Redis) string {
	if cfg.URL != "" {
		return cfg.URL
	}
	return cfg.Addr
}

// PingRedis checks that rdb answers PING within PingTimeout, with an error that names the
// server as cfg configures it.
func PingRedis(ctx context.Context, rdb redis.UniversalClient, cfg config.Redis) error {
	ctx, cancel := context.WithTimeout(ctx, PingTimeout)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: PING %s: %w", RedisTarget(cfg), err)
	}
	return nil
}

// clientTLS is the TLS setup of the client TLS table at key (redis.tls): nil when disabled; else TLS 1.2 or later, the server
// verified against redis.tls.ca (the system roots without it), and the client key pair when
// redis.tls.cert and redis.tls.key are set. Errors name the key and file, never the content.
func clientTLS(key string, t config.ClientTLS) (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CA != "" {
		pem, err := readFile(key+".ca", t.CA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.ca: %s holds no PEM certificate", key, t.CA)
		}
		tc.RootCAs = pool
	}
	if t.Cert != "" || t.Key != "" {
		certPEM, err := readFile(key+".cert", t.Cert)
		if err != nil {
			return nil, err
		}
		keyPEM, err := readFile(key+".key", t.Key)
		if err != nil {
			return nil, err
		}
		// crypto/tls's errors describe the PEM blocks and whether the key matches the
		// certificate; they never quote key material.
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%s.cert %s and %s.key %s: %w", key, t.Cert, key, t.Key, err)
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
