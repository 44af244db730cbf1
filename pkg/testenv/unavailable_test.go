package testenv_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// TestHelperNeedsRedis is run as a subprocess by TestNoRedis*; on its own it does nothing.
func TestHelperNeedsRedis(t *testing.T) {
	if os.Getenv("TESTENV_HELPER") != "1" {
		return
	}
	testenv.Redis(t)
	t.Log("got a Redis")
}

// runWithoutRedis runs TestHelperNeedsRedis with no redis-server on PATH, no REDIS_ADDR and no Docker.
func runWithoutRedis(t *testing.T, ci string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNeedsRedis$", "-test.v")
	cmd.Env = []string{"TESTENV_HELPER=1", "PATH=/nonexistent", "CI=" + ci,
		"DOCKER_HOST=unix:///nonexistent/docker.sock", "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestNoRedisFailsInCI(t *testing.T) {
	t.Parallel()
	out, err := runWithoutRedis(t, "true")
	if err == nil {
		t.Fatalf("helper passed without a Redis in CI:\n%s", out)
	}
	if !strings.Contains(out, "--- FAIL") || !strings.Contains(out, "CI=true") {
		t.Fatalf("want a failure that names CI=true, got:\n%s", out)
	}
}

func TestNoRedisSkipsOutsideCI(t *testing.T) {
	t.Parallel()
	out, err := runWithoutRedis(t, "")
	if err != nil {
		t.Fatalf("helper failed outside CI: %v\n%s", err, out)
	}
	if !strings.Contains(out, "--- SKIP") || !strings.Contains(out, "redis-server is not on PATH") {
		t.Fatalf("want a skip that gives the reason, got:\n%s", out)
	}
}

func TestRedisAddrIsSharedUnderPrefix(t *testing.T) {
	// Not parallel: it sets REDIS_ADDR for the process.
	own := testenv.Redis(t)
	t.Setenv("REDIS_ADDR", own.Addr)
	ctx := context.Background()
	admin := own.Client(t)
	if err := admin.Set(ctx, "other:key", "x", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	var prefix string
	t.Run("shared", func(t *testing.T) {
		r := testenv.Redis(t)
		if r.Source != "REDIS_ADDR" || r.Addr != own.Addr {
			t.Fatalf("got %+v; want the REDIS_ADDR server %s", r, own.Addr)
		}
		prefix = r.Prefix
		if err := r.Client(t).Set(ctx, r.Prefix+"mine", "1", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	})
	if n, err := admin.Exists(ctx, prefix+"mine").Result(); err != nil || n != 0 {
		t.Fatalf("test key survived cleanup: exists=%d err=%v", n, err)
	}
	if n, err := admin.Exists(ctx, "other:key").Result(); err != nil || n != 1 {
		t.Fatalf("cleanup deleted a key outside the prefix: exists=%d err=%v", n, err)
	}
}
