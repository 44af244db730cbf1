// Package testenv gives tests real servers: Redis and NATS JetStream, and for the code that
// must work on them, a Redis Sentinel ([RedisSentinel]), a Redis Cluster ([RedisCluster]) and
// a NATS server that requires TLS ([WithTLS]); and an address where none listens, for a server
// that is down ([ClosedAddr]).
//
// Every helper takes a testing.TB, registers its own cleanup, and is safe to call from parallel
// tests: each call gets a server (or, with REDIS_ADDR, a key prefix) of its own.
//
// When no server can be had, the test is skipped with the reason on a developer's machine and
// fails when CI=true, so a missing server can never let CI pass silently.
package testenv

import (
	"os"
	"strconv"
	"testing"
)

// unavailable ends a test that cannot get a server it needs: Fatal in CI, Skip elsewhere.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf("testenv: "+format+" (CI=true: a missing server fails the run)", args...)
	}
	t.Skipf("testenv: "+format, args...)
}

// inCI reports whether CI is set to a true value, as CI systems do.
func inCI() bool {
	v, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && v
}
