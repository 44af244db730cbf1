package clients

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/config"
)

// PingTimeout bounds the PING of [PingRedis].
const PingTimeout = 10 * time.Second

// Redis returns a client for the deployment cfg describes (see [config.Redis.Mode]):
//   - one server, redis.url (as go-redis parses it) or redis.addr: a *redis.Client;
//   - Sentinel, redis.master-name with the Sentinels in redis.addrs: a *redis.Client that
//     asks the Sentinels for the master and follows failovers;
//   - Cluster, the seed nodes in redis.addrs: a *redis.ClusterClient, which discovers the
//     other nodes and follows MOVED and ASK redirections.
//
// Every node gets redis.username, the password in redis.password-file and redis.tls; the
// Sentinels get the password in redis.sentinel-password-file (both files read once, here) and
// redis.tls too. The client's calls end with their context. It does not connect.
func Redis(cfg config.Redis) (redis.UniversalClient, error) {
	password, err := cfg.Password()
	if err != nil {
		return nil, fmt.Errorf("redis.password-file: %w", err)
	}
	sentinelPassword, err := cfg.SentinelPassword()
	if err != nil {
		return nil, fmt.Errorf("redis.sentinel-password-file: %w", err)
	}
	tc, err := clientTLS("redis.tls", cfg.TLS)
	if err != nil {
		return nil, err
	}
	if cfg.URL == "" {
		addrs := cfg.Addrs
		if len(addrs) == 0 {
			addrs = []string{cfg.Addr}
		}
		opts := &redis.UniversalOptions{
			Addrs:                 addrs,
			Username:              cfg.Username,
			Password:              password.Reveal(),
			SentinelPassword:      sentinelPassword.Reveal(),
			TLSConfig:             tc,
			ContextTimeoutEnabled: true,
		}
		switch cfg.Mode() {
		case config.RedisSentinel:
			opts.MasterName = cfg.MasterName
			return redis.NewFailoverClient(opts.Failover()), nil
		case config.RedisCluster:
			return redis.NewClusterClient(opts.Cluster()), nil
		}
		return redis.NewClient(opts.Simple()), nil
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

// RedisTarget names the Redis deployment in errors: redis.url (which holds no credentials:
// config refuses them), redis.addr, or the mode and redis.addrs.
func RedisTarget(cfg config.Redis) string {
	switch {
	case cfg.URL != "":
		return cfg.URL
	case len(cfg.Addrs) == 0:
		return cfg.Addr
	case cfg.Mode() == config.RedisSentinel:
		return fmt.Sprintf("master %q via Sentinels %s", cfg.MasterName, strings.Join(cfg.Addrs, ","))
	}
	return "Cluster " + strings.Join(cfg.Addrs, ",")
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

// clientTLS is the TLS setup of the client TLS table at key (redis.tls, nats.tls): nil when
// disabled; else TLS 1.2 or later, the server verified against <key>.ca (the system roots
// without it), and the client key pair when <key>.cert and <key>.key are set. The server
// name is left to the client library, which takes it from the address it dials, so one
// setup serves every node of a cluster. Errors name the key and file, never the content.
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
