package redisserver_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/redisserver"
)

func TestStartDeletePrefixStop(t *testing.T) {
	if _, err := redisserver.LookPath(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	srv, err := redisserver.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Kill)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := redisserver.Ping(ctx, srv.Addr); err != nil {
		t.Fatalf("PING: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	// "a*[x]:" holds glob characters: only keys starting with it, literally, go.
	for _, k := range []string{"a*[x]:1", "a*[x]:2", "ab[x]:3", "other"} {
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	n, err := redisserver.DeletePrefix(ctx, srv.Addr, "a*[x]:")
	if err != nil || n != 2 {
		t.Fatalf("DeletePrefix = %d, %v; want 2, nil", n, err)
	}
	if left, err := c.Keys(ctx, "*").Result(); err != nil || len(left) != 2 {
		t.Fatalf("keys left = %v, %v; want ab[x]:3 and other", left, err)
	}
	if _, err := redisserver.DeletePrefix(ctx, srv.Addr, ""); err == nil {
		t.Fatal("DeletePrefix with an empty prefix succeeded")
	}
	srv.Stop()
	srv.Stop() // idempotent
	if err := redisserver.Ping(ctx, srv.Addr); err == nil {
		t.Fatal("the server still answers after Stop")
	}
}

func TestNotInstalled(t *testing.T) {
	t.Setenv("PATH", "/nonexistent")
	if _, err := redisserver.Start(t.TempDir()); !errors.Is(err, redisserver.ErrNotInstalled) {
		t.Fatalf("Start without redis-server = %v; want ErrNotInstalled", err)
	}
}
