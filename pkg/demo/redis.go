package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/auditpipe/auditpipe/pkg/redisserver"
)

// ErrNoRedis: no Redis was given and none could be started. Its message says how to get one.
var ErrNoRedis = errors.New("demo: no Redis")

// howToGetRedis ends the error of ErrNoRedis.
const howToGetRedis = "install redis-server (Debian/Ubuntu: sudo apt-get install redis-server; " +
	"Fedora: sudo dnf install redis; macOS: brew install redis) so the demo can start one, " +
	"or point it at a Redis you run with REDIS_ADDR=host:port (or --redis-addr host:port)"

// redisSetup is the Redis the demo uses and how it got it.
type redisSetup struct {
	addr string
	// source is where it came from: "--redis-addr", "REDIS_ADDR" or "redis-server".
	source string
	// prefix starts every key the demo writes (redis.key-prefix).
	prefix string
	// shared is true for a Redis the demo did not start: its keys are deleted on Stop.
	shared bool
	// server is the redis-server the demo started (nil when shared).
	server *redisserver.Server
}

// openRedis finds the demo's Redis: o.RedisAddr, else $REDIS_ADDR (both shared: a key prefix
// of the demo's own), else a redis-server from PATH started in dir/redis.
func openRedis(ctx context.Context, o Options, dir string) (*redisSetup, error) {
	addr, source := o.RedisAddr, "--redis-addr"
	if addr == "" {
		addr, source = os.Getenv("REDIS_ADDR"), "REDIS_ADDR"
	}
	if addr != "" {
		if err := redisserver.Ping(ctx, addr); err != nil {
			return nil, fmt.Errorf("%w: the Redis at %s (%s) does not answer PING: %v", ErrNoRedis, addr, source, err)
		}
		return &redisSetup{addr: addr, source: source, shared: true,
			prefix: "auditpipe-demo:" + rand.Text()[:10] + ":"}, nil
	}
	path, err := redisserver.LookPath()
	if err != nil {
		return nil, fmt.Errorf("%w: redis-server is not on PATH and REDIS_ADDR is not set; %s", ErrNoRedis, howToGetRedis)
	}
	dir = filepath.Join(dir, "redis")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	srv, err := redisserver.StartPath(path, dir)
	if err != nil {
		return nil, fmt.Errorf("%w: starting %s failed: %v; %s", ErrNoRedis, path, err, howToGetRedis)
	}
	return &redisSetup{addr: srv.Addr, source: "redis-server", prefix: "auditpipe:", server: srv}, nil
}

// close deletes the demo's keys from a shared Redis, or stops the redis-server it started.
func (r *redisSetup) close(ctx context.Context) error {
	if r.server != nil {
		r.server.Stop()
		return nil
	}
	if _, err := redisserver.DeletePrefix(ctx, r.addr, r.prefix); err != nil {
		return fmt.Errorf("delete the demo's keys (%s*) from %s: %w", r.prefix, r.addr, err)
	}
	return nil
}

// describe says where the Redis is, for the banner.
func (r *redisSetup) describe() string {
	if r.shared {
		return fmt.Sprintf("%s (from %s; the demo's keys are under %s and deleted when it stops)", r.addr, r.source, r.prefix)
	}
	return fmt.Sprintf("%s (a redis-server started for the demo, stopped with it)", r.addr)
}
