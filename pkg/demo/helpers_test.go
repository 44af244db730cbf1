package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/redisserver"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
)

// needRedis skips the test (fails it in CI) when the demo could not get a Redis: no
// REDIS_ADDR and no redis-server on PATH.
func needRedis(t *testing.T) {
	t.Helper()
	if os.Getenv("REDIS_ADDR") != "" {
		return
	}
	if _, err := redisserver.LookPath(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the demo needs a Redis: %v (CI=true: a missing server fails the run)", err)
		}
		t.Skipf("the demo needs a Redis: %v; install redis-server or set REDIS_ADDR", err)
	}
}

// startPipeline starts a pipeline for the test, on a free admin port, stopped at its end
// (the stop must succeed).
func startPipeline(t *testing.T, o Options) *Pipeline {
	t.Helper()
	needRedis(t)
	if o.AdminListen == "" {
		o.AdminListen = "127.0.0.1:0"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	began := time.Now()
	p, err := Start(ctx, o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("started in %v: admin API %s, files in %s", time.Since(began).Round(time.Millisecond), p.AdminURL(), p.Dir())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		began := time.Now()
		if err := p.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		t.Logf("stopped in %v", time.Since(began).Round(time.Millisecond))
		if _, err := os.Stat(p.Dir()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the temporary directory %s is still there after Stop: %v", p.Dir(), err)
		}
		if p.redis.server != nil && redisserver.Ping(context.Background(), p.redis.addr) == nil {
			t.Errorf("the redis-server the demo started on %s still answers after Stop", p.redis.addr)
		}
		if t.Failed() {
			t.Logf("receiver: %+v", p.recv.counts())
		}
	})
	return p
}

// client is an admin API client with the pipeline's admin token.
func client(t *testing.T, p *Pipeline) *adminapi.Client {
	t.Helper()
	c, err := p.AdminClient()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond every 50 ms until it holds, failing the test after timeout (or as
// soon as the pipeline fails) with what describe says then.
func eventually(t *testing.T, p *Pipeline, timeout time.Duration, what string, cond func() bool, describe func() string) time.Duration {
	t.Helper()
	began := time.Now()
	deadline := began.Add(timeout)
	for !cond() {
		if err := p.Err(); err != nil {
			t.Fatalf("%s: the pipeline failed: %v", what, err)
		}
		if time.Now().After(deadline) {
			msg := ""
			if describe != nil {
				msg = ": " + describe()
			}
			t.Fatalf("%s: not within %v%s", what, timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(began)
}

// entry is an audit event of the simulated log.
type entry struct {
	uid, typ string
	at       time.Time
}

// historical returns the audit events of the simulated log generated up front (not the live
// ones), in time order.
func historical(p *Pipeline) []entry {
	var out []entry
	p.simLog.Manifest(func(e teleportsim.ManifestEntry) bool {
		if e.Kind == teleportsim.KindAudit && e.Time.Before(p.logTo) {
			out = append(out, entry{uid: e.UID, typ: e.Type, at: e.Time})
		}
		return true
	})
	return out
}

// live returns the live audit events of the simulated log with a time after since.
func live(p *Pipeline, since time.Time) []entry {
	var out []entry
	p.simLog.Manifest(func(e teleportsim.ManifestEntry) bool {
		if e.Kind == teleportsim.KindAudit && !e.Time.Before(p.logTo) && e.Time.After(since) {
			out = append(out, entry{uid: e.UID, typ: e.Type, at: e.Time})
		}
		return true
	})
	return out
}

// tally counts the entries by how often the receiver got them: tally[n] is the number of
// entries that arrived n times.
func tally(p *Pipeline, entries []entry) map[int]int {
	got := p.recv.deliveries()
	out := map[int]int{}
	for _, e := range entries {
		out[got[e.uid]]++
	}
	return out
}

// all reports whether every entry arrived exactly n times.
func all(p *Pipeline, entries []entry, n int) bool {
	got := p.recv.deliveries()
	for _, e := range entries {
		if got[e.uid] != n {
			return false
		}
	}
	return true
}

// between returns the entries with from <= time < to.
func between(entries []entry, from, to time.Time) []entry {
	var out []entry
	for _, e := range entries {
		if !e.at.Before(from) && e.at.Before(to) {
			out = append(out, e)
		}
	}
	return out
}

func describeTally(p *Pipeline, entries []entry) func() string {
	return func() string { return fmt.Sprintf("%d events by deliveries: %v", len(entries), tally(p, entries)) }
}
