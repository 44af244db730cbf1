package lock

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gravitational/teleport/api/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsim/teleportsimtest"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// env is what a Sink works with in production: a real Redis and a Teleport Auth Service (the
// simulator, reached through the real gRPC client).
type env struct {
	redis *testenv.RedisServer
	sim   *teleportsim.Server
	// rdb reads and writes Redis directly, for the tests' own checks.
	rdb *redis.Client
}

// newEnv starts Redis and a simulator serving log (an empty log when nil); both stop when
// the test ends.
func newEnv(t testing.TB, log *teleportsim.Log) *env {
	t.Helper()
	if log == nil {
		var err error
		if log, err = teleportsim.NewLog(teleportsim.Options{Seed: 1}); err != nil {
			t.Fatalf("NewLog: %v", err)
		}
	}
	srv := teleportsimtest.Start(t, teleportsim.ServerConfig{Log: log})
	r := testenv.Redis(t)
	return &env{redis: r, sim: srv, rdb: r.Client(t)}
}

// config returns the settings of the tests: a lock at the 4th failed login within a minute,
// locks without expiry, keys under the test's prefix.
func (e *env) config() Config {
	return Config{KeyPrefix: e.redis.Prefix, FailedAttempts: 3, Period: time.Minute}
}

// teleport connects a Teleport client to the simulator, closed when the test ends.
func (e *env) teleport(t testing.TB) *teleportsrc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := teleportsrc.New(ctx, config.Teleport{
		Addr:     e.sim.Addr(),
		Identity: e.sim.Credentials().Identity,
		Refresh:  config.Refresh{Interval: time.Hour},
	})
	if err != nil {
		t.Fatalf("teleportsrc.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// redisClient returns a client of the Redis at addr as the shipper builds it, with calls
// bounded by their context; closed when the test ends.
func redisClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// replica is one shipper replica's lock sink, with its own Redis and Teleport connections.
type replica struct {
	*Sink
	teleport *teleportsrc.Client
	locker   *countingLocker
	reg      *prometheus.Registry
}

// newReplica builds a Sink over connections of its own to e's Redis and Teleport.
func (e *env) newReplica(t testing.TB, cfg Config, opts ...Option) *replica {
	t.Helper()
	return e.newReplicaAt(t, e.redis.Addr, cfg, opts...)
}

// newReplicaAt is newReplica with Redis reached at redisAddr (a proxy, a closed port).
func (e *env) newReplicaAt(t testing.TB, redisAddr string, cfg Config, opts ...Option) *replica {
	t.Helper()
	client := e.teleport(t)
	locker := &countingLocker{Locker: client}
	reg := prometheus.NewRegistry()
	s, err := New(redisClient(t, redisAddr), locker, cfg, append([]Option{WithRegisterer(reg)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &replica{Sink: s, teleport: client, locker: locker, reg: reg}
}

// fastRecheck shortens the replicas' claims to 2 s, so that a copy of a claiming event,
// delivered while the claim is in flight, looks again after 200 ms rather than 3 s.
func fastRecheck(replicas ...*replica) {
	for _, r := range replicas {
		r.store.pendingTTL = 2 * time.Second
	}
}

// countingLocker counts the UpsertLock calls that reach Teleport and those it accepted.
type countingLocker struct {
	Locker
	calls, ok atomic.Int64
}

func (c *countingLocker) UpsertLock(ctx context.Context, lock types.Lock) error {
	c.calls.Add(1)
	err := c.Locker.UpsertLock(ctx, lock)
	if err == nil {
		c.ok.Add(1)
	}
	return err
}

// metric returns the sum of the counters name in reg whose labels include the given
// name/value pairs.
func metric(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !found {
					continue next
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// base is the time of the tests' events.
var base = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// login returns a user.login event, unique by uid.
func login(t testing.TB, uid, user, osLogin string, at time.Time, success bool) event.Event {
	t.Helper()
	fields := map[string]any{
		"event": "user.login", "uid": uid, "time": at.Format(time.RFC3339Nano),
		"cluster_name": "test", "user": user, "method": "local", "success": success,
	}
	if osLogin != "" {
		fields["login"] = osLogin
	}
	if success {
		fields["code"] = "T1000I"
	} else {
		fields["code"] = "T1000W"
		fields["error"] = "invalid username, password or second factor"
	}
	return parse(t, fields)
}

// parse returns the audit event of fields.
func parse(t testing.TB, fields map[string]any) event.Event {
	t.Helper()
	body, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.Parse(event.Audit, body)
	if err != nil {
		t.Fatalf("Parse(%s): %v", body, err)
	}
	return ev
}

// deliver delivers batch through s and fails the test unless every event is Delivered.
func deliver(t testing.TB, s sink.Sink, batch ...event.Event) {
	t.Helper()
	for i, r := range s.Deliver(context.Background(), batch) {
		if r.Outcome != sink.Delivered {
			t.Fatalf("event %d (%s): %s (blocked %t): %s, want delivered", i, batch[i].ID(), r.Outcome, r.Blocked, r.Reason)
		}
	}
}

// deliverAsShipper delivers batch through s as a shipper does: the events that come back
// Retry are delivered again after their RetryAfter (or at once), until all are Delivered. It
// returns how many deliveries of single events were such retries, and fails the test on
// Rejected or Blocked, or after 10 attempts.
func deliverAsShipper(t testing.TB, s sink.Sink, batch []event.Event) (retries int) {
	t.Helper()
	for attempt := 1; len(batch) > 0; attempt++ {
		if attempt > 10 {
			t.Errorf("%d events still Retry after 10 attempts", len(batch))
			return retries
		}
		var again []event.Event
		var wait time.Duration
		for i, r := range s.Deliver(context.Background(), batch) {
			switch {
			case r.Outcome == sink.Delivered:
			case r.Outcome == sink.Retry && !r.Blocked:
				again = append(again, batch[i])
				wait = max(wait, r.RetryAfter)
			default:
				t.Errorf("event %s: %s (blocked %t): %s", batch[i].ID(), r.Outcome, r.Blocked, r.Reason)
				return retries
			}
		}
		time.Sleep(wait)
		retries += len(again)
		batch = again
	}
	return retries
}

// locksOf returns the simulator's locks by name.
func (e *env) locksOf() map[string]*types.LockV2 {
	out := make(map[string]*types.LockV2)
	for _, l := range e.sim.Locks() {
		out[l.GetName()] = l
	}
	return out
}
