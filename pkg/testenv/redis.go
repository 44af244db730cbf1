package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"

	"github.com/auditpipe/auditpipe/pkg/redisserver"
)

// RedisServer is a Redis a test may use.
type RedisServer struct {
	// Addr is host:port.
	Addr string
	// Prefix is a key prefix unique to this call. A Redis started for the test is the test's
	// own, but one named by REDIS_ADDR is shared: code under test must keep its keys under
	// Prefix (auditpipe's `redis.key-prefix`), and cleanup deletes only those keys.
	Prefix string
	// Source says where the server came from: "REDIS_ADDR", "redis-server" or "testcontainers".
	Source string
}

// Client returns a go-redis client for the server, closed at the test's cleanup.
func (r *RedisServer) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var prefixSeq atomic.Int64

// Redis returns a real Redis for the test, trying in order:
//  1. REDIS_ADDR, if set (shared: keys under Prefix are deleted at cleanup);
//  2. a redis-server from PATH, started on a free port in a temporary directory, stopped at cleanup;
//  3. testcontainers-go's Redis module, where a Docker engine answers.
//
// When none works the test is skipped, or fails when CI=true.
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	prefix := fmt.Sprintf("test:%d:%d:", os.Getpid(), prefixSeq.Add(1))
	if addr := os.Getenv("REDIS_ADDR"); addr != "" {
		r := &RedisServer{Addr: addr, Prefix: prefix, Source: "REDIS_ADDR"}
		if err := ping(addr); err != nil {
			t.Fatalf("testenv: REDIS_ADDR=%s does not answer: %v", addr, err)
		}
		t.Cleanup(func() { deletePrefix(t, addr, prefix) })
		return r
	}
	var reasons []string
	if path, err := exec.LookPath("redis-server"); err == nil {
		addr, err := startRedisServer(t, path)
		if err == nil {
			return &RedisServer{Addr: addr, Prefix: prefix, Source: "redis-server"}
		}
		reasons = append(reasons, "redis-server: "+err.Error())
	} else {
		reasons = append(reasons, "redis-server is not on PATH")
	}
	addr, err := startRedisContainer(t)
	if err == nil {
		return &RedisServer{Addr: addr, Prefix: prefix, Source: "testcontainers"}
	}
	reasons = append(reasons, "testcontainers: "+err.Error())
	unavailable(t, "no Redis: %s; install redis-server or set REDIS_ADDR", strings.Join(reasons, "; "))
	return nil
}

// startRedisServer runs redis-server on a free port with no persistence (package redisserver)
// and stops it at cleanup.
func startRedisServer(t testing.TB, path string) (string, error) {
	t.Helper()
	srv, err := redisserver.StartPath(path, t.TempDir())
	if err != nil {
		return "", err
	}
	t.Cleanup(srv.Kill)
	return srv.Addr, nil
}

func startRedisContainer(t testing.TB) (addr string, err error) {
	t.Helper()
	// testcontainers panics when it finds no Docker host at all.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("no Docker engine: %v", r)
		}
	}()
	provider, err := testcontainers.NewDockerProvider()
	if err != nil {
		return "", fmt.Errorf("no Docker engine: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := provider.Health(ctx); err != nil {
		return "", fmt.Errorf("no Docker engine: %w", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := tcredis.Run(ctx, "redis:7-alpine")
	if c != nil {
		t.Cleanup(func() { _ = testcontainers.TerminateContainer(c) })
	}
	if err != nil {
		return "", err
	}
	url, err := c.ConnectionString(ctx)
	if err != nil {
		return "", err
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return "", err
	}
	return opts.Addr, nil
}

func ping(addr string) error {
	return redisserver.Ping(context.Background(), addr)
}

// deletePrefix removes a test's keys from a shared Redis.
func deletePrefix(t testing.TB, addr, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := redisserver.DeletePrefix(ctx, addr, prefix); err != nil {
		t.Logf("testenv: cleanup of %s*: %v", prefix, err)
	}
}
