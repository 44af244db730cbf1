package testenv

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
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

// startRedisServer runs redis-server on a free port with no persistence and waits until it answers.
func startRedisServer(t testing.TB, path string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	// Another process may take the free port between Listen and redis-server's bind: retry.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		logPath := filepath.Join(dir, fmt.Sprintf("redis-%d.log", port))
		cmd := exec.Command(path,
			"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
			"--save", "", "--appendonly", "no", "--logfile", logPath)
		if err := cmd.Start(); err != nil {
			return "", fmt.Errorf("start: %w", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if err := waitRedis(addr, exited); err != nil {
			_ = cmd.Process.Kill()
			lastErr = fmt.Errorf("%w (log: %s)", err, tail(logPath))
			continue
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		return addr, nil
	}
	return "", lastErr
}

func waitRedis(addr string, exited <-chan error) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("redis-server exited: %v", err)
		default:
		}
		if ping(addr) == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on %s did not answer within 10s", addr)
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
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// deletePrefix removes a test's keys from a shared Redis.
func deletePrefix(t testing.TB, addr, prefix string) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := c.Del(ctx, iter.Val()).Err(); err != nil {
			t.Logf("testenv: cleanup of %s*: %v", prefix, err)
			return
		}
	}
	if err := iter.Err(); err != nil {
		t.Logf("testenv: cleanup of %s*: %v", prefix, err)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "no log"
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > 5 {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, " | ")
}
