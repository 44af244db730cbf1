package clients_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gravitational/teleport/api/types"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/clients"
	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/lock"
	"github.com/auditpipe/auditpipe/pkg/testenv"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// secretFile writes value to a file of its own and returns its path.
func secretFile(t *testing.T, name, value string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRedisModes: the client type and options each deployment gets, without a server.
func TestRedisModes(t *testing.T) {
	t.Parallel()
	password := secretFile(t, "password", "master-s3cret")
	sentinelPassword := secretFile(t, "sentinel-password", "sentinel-s3cret")
	tlsOn := config.ClientTLS{Enabled: true}
	tests := []struct {
		name       string
		given      config.Redis
		check      func(t *testing.T, rdb redis.UniversalClient)
		wantTarget string
	}{
		{
			name:  "Sentinel",
			given: config.Redis{Addrs: []string{"s0:26379", "s1:26379"}, MasterName: "mymaster", Username: "ingest", PasswordFile: password, SentinelPasswordFile: sentinelPassword, TLS: tlsOn},
			check: func(t *testing.T, rdb redis.UniversalClient) {
				c, ok := rdb.(*redis.Client)
				if !ok {
					t.Fatalf("%T, want the *redis.Client of a failover client", rdb)
				}
				o := c.Options()
				// go-redis names the failover client's address so; the Sentinels are asked for the master.
				if o.Addr != "FailoverClient" || o.Username != "ingest" || o.Password != "master-s3cret" || o.TLSConfig == nil || !o.ContextTimeoutEnabled {
					t.Errorf("options %+v", o)
				}
			},
			wantTarget: `master "mymaster" via Sentinels s0:26379,s1:26379`,
		},
		{
			name:  "Cluster of seed nodes",
			given: config.Redis{Addrs: []string{"r0:6379", "r1:6379", "r2:6379"}, Username: "ingest", PasswordFile: password, TLS: tlsOn},
			check: func(t *testing.T, rdb redis.UniversalClient) {
				c, ok := rdb.(*redis.ClusterClient)
				if !ok {
					t.Fatalf("%T, want a *redis.ClusterClient", rdb)
				}
				o := c.Options()
				if !reflect.DeepEqual(o.Addrs, []string{"r0:6379", "r1:6379", "r2:6379"}) || o.Username != "ingest" ||
					o.Password != "master-s3cret" || o.TLSConfig == nil || o.TLSConfig.ServerName != "" || !o.ContextTimeoutEnabled {
					t.Errorf("options %+v", o)
				}
			},
			wantTarget: "Cluster r0:6379,r1:6379,r2:6379",
		},
		{
			name:  "Cluster from one seed",
			given: config.Redis{Addrs: []string{"clustercfg.example:6379"}, Cluster: true},
			check: func(t *testing.T, rdb redis.UniversalClient) {
				c, ok := rdb.(*redis.ClusterClient)
				if !ok {
					t.Fatalf("%T, want a *redis.ClusterClient", rdb)
				}
				if o := c.Options(); !reflect.DeepEqual(o.Addrs, []string{"clustercfg.example:6379"}) || o.TLSConfig != nil {
					t.Errorf("options %+v", o)
				}
			},
			wantTarget: "Cluster clustercfg.example:6379",
		},
		{
			name:  "one server by addr",
			given: config.Redis{Addr: "redis:6379", Cluster: false},
			check: func(t *testing.T, rdb redis.UniversalClient) {
				c, ok := rdb.(*redis.Client)
				if !ok || c.Options().Addr != "redis:6379" {
					t.Fatalf("%T %v, want a single-server client of redis:6379", rdb, rdb)
				}
			},
			wantTarget: "redis:6379",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb, err := clients.Redis(tt.given)
			if err != nil {
				t.Fatal(err)
			}
			defer rdb.Close()
			tt.check(t, rdb)
			if got := clients.RedisTarget(tt.given); got != tt.wantTarget {
				t.Errorf("RedisTarget = %q, want %q", got, tt.wantTarget)
			}
		})
	}

	t.Run("missing Sentinel password file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "none")
		_, err := clients.Redis(config.Redis{Addrs: []string{"s0:26379"}, MasterName: "m", SentinelPasswordFile: missing})
		if err == nil || !strings.HasPrefix(err.Error(), "redis.sentinel-password-file: ") {
			t.Fatalf("err = %v, want one naming redis.sentinel-password-file", err)
		}
	})
}

// TestRedisSentinel: through a real Sentinel, the client finds the master, authenticates to
// the Sentinel with redis.sentinel-password-file and to the master with redis.password-file,
// and ingest's window store works on it; without the Sentinel's password it fails with an
// error that names the deployment and no password.
func TestRedisSentinel(t *testing.T) {
	t.Parallel()
	srv := testenv.RedisSentinel(t, testenv.RedisSentinelOptions{Password: "master-s3cret", SentinelPassword: "sentinel-s3cret"})
	cfg := config.Redis{
		Addrs:                []string{srv.SentinelAddr},
		MasterName:           srv.MasterName,
		PasswordFile:         secretFile(t, "password", srv.Password),
		SentinelPasswordFile: secretFile(t, "sentinel-password", srv.SentinelPassword),
		KeyPrefix:            srv.Prefix,
	}
	ctx := t.Context()
	rdb := connect(t, cfg)
	if err := rdb.Set(ctx, srv.Prefix+"k", "through the Sentinel", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := srv.Master(t).Get(ctx, srv.Prefix+"k").Result(); err != nil || got != "through the Sentinel" {
		t.Fatalf("the master holds %q, %v; want the value written through the Sentinel", got, err)
	}
	windowLifecycle(t, rdb, srv.Prefix)

	noSentinelPassword := cfg
	noSentinelPassword.SentinelPasswordFile = ""
	other, err := clients.Redis(noSentinelPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	err = clients.PingRedis(ctx, other, noSentinelPassword)
	if err == nil {
		t.Fatal("PING without the Sentinel's password succeeded")
	}
	if want := `redis: PING master "mymaster" via Sentinels ` + srv.SentinelAddr; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want one that says %q", err, want)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error shows a password: %v", err)
	}
}

// TestRedisCluster: with cluster = true, the client is a Cluster client of a real Redis
// Cluster, which refuses a script whose keys lie in different slots (CROSSSLOT); ingest's
// window scripts and the lock sink's scripts, whose keys share a hash tag, all run on it.
func TestRedisCluster(t *testing.T) {
	t.Parallel()
	srv := testenv.RedisCluster(t)
	cfg := config.Redis{Addrs: []string{srv.Addr}, Cluster: true, KeyPrefix: srv.Prefix}
	rdb := connect(t, cfg)
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("%T, want a *redis.ClusterClient", rdb)
	}
	ctx := t.Context()

	// The control: keys in two slots, without a shared hash tag, are refused.
	a, b := srv.Prefix+"a", srv.Prefix+"b"
	for i := 0; sameSlot(t, rdb, a, b); i++ {
		b = srv.Prefix + "b" + string(rune('0'+i))
	}
	err := rdb.Eval(ctx, "return redis.call('MSET', KEYS[1], '1', KEYS[2], '2')", []string{a, b}).Err()
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("a script over two slots: err = %v, want CROSSSLOT", err)
	}

	windowLifecycle(t, rdb, srv.Prefix)
	lockOnce(t, rdb, srv.Prefix)
}

// connect builds the client for cfg, checks it answers PING, and closes it at cleanup.
func connect(t *testing.T, cfg config.Redis) redis.UniversalClient {
	t.Helper()
	rdb, err := clients.Redis(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	if err := clients.PingRedis(t.Context(), rdb, cfg); err != nil {
		t.Fatal(err)
	}
	return rdb
}

func sameSlot(t *testing.T, rdb redis.UniversalClient, a, b string) bool {
	t.Helper()
	sa, errA := rdb.ClusterKeySlot(t.Context(), a).Result()
	sb, errB := rdb.ClusterKeySlot(t.Context(), b).Result()
	if errA != nil || errB != nil {
		t.Fatalf("CLUSTER KEYSLOT: %v, %v", errA, errB)
	}
	return sa == sb
}

// windowLifecycle runs every kind of window.Store script on rdb: epoch, planning, claims,
// renewals, fenced commits, completion, a replay, a session job, pause and the planner's
// election.
func windowLifecycle(t *testing.T, rdb redis.UniversalClient, prefix string) {
	t.Helper()
	ctx := t.Context()
	cfg := window.DefaultConfig()
	cfg.KeyPrefix = prefix
	cfg.SettleGrace = 0
	s, err := window.New(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Hour)
	epoch, err := s.InitEpoch(ctx, now.Add(-4*time.Hour))
	if err != nil {
		t.Fatalf("InitEpoch: %v", err)
	}
	if n, err := s.PlanSearch(ctx, epoch.Number, time.Hour); err != nil || n < 4 {
		t.Fatalf("PlanSearch = %d, %v; want at least 4 windows", n, err)
	}
	l, err := s.Claim(ctx, "a")
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if err := l.Renew(ctx); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	if err := l.Commit(ctx, "page-1"); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if err := l.Complete(ctx); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if err := l.Commit(ctx, "page-2"); err == nil {
		t.Fatal("Commit after Complete succeeded: the fencing token was not checked")
	}
	l2, err := s.Claim(ctx, "b")
	if err != nil {
		t.Fatalf("second Claim: %v", err)
	}
	if err := l2.Release(ctx); err != nil {
		t.Fatalf("Release: %v", err)
	}
	counts, err := s.EpochCounts(ctx, epoch.Number)
	if err != nil || counts.Done != 1 || counts.Leased != 0 || counts.Pending < 3 {
		t.Fatalf("EpochCounts = %+v, %v; want 1 done and the rest pending", counts, err)
	}

	rp, err := s.CreateReplay(ctx, window.ReplaySpec{ID: "r1", From: now.Add(-2 * time.Hour), To: now, WindowSize: time.Hour})
	if err != nil || rp.Windows.Total() != 2 {
		t.Fatalf("CreateReplay = %+v, %v; want 2 windows", rp, err)
	}
	if err := s.AddReplayEvents(ctx, "r1", 5); err != nil {
		t.Fatalf("AddReplayEvents: %v", err)
	}
	if _, err := s.CancelReplay(ctx, "r1"); err != nil {
		t.Fatalf("CancelReplay: %v", err)
	}

	if queued, err := s.EnqueueSession(ctx, "sid-1", ""); err != nil || !queued {
		t.Fatalf("EnqueueSession = %v, %v", queued, err)
	}
	sl, err := s.ClaimSession(ctx, "a")
	if err != nil {
		t.Fatalf("ClaimSession: %v", err)
	}
	if err := sl.Commit(ctx, 10); err != nil {
		t.Fatalf("session Commit: %v", err)
	}
	if err := sl.Complete(ctx); err != nil {
		t.Fatalf("session Complete: %v", err)
	}

	if err := s.Pause(ctx); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if paused, _, err := s.Paused(ctx); err != nil || !paused {
		t.Fatalf("Paused = %v, %v", paused, err)
	}
	if err := s.Resume(ctx); err != nil {
		t.Fatalf("Resume: %v", err)
	}

	el, err := s.NewElection("planner", "a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if won, err := el.Acquire(ctx); err != nil || !won {
		t.Fatalf("Acquire = %v, %v", won, err)
	}
	if err := el.Renew(ctx); err != nil {
		t.Fatalf("election Renew: %v", err)
	}
	if err := el.Resign(ctx); err != nil {
		t.Fatalf("Resign: %v", err)
	}
}

// lockOnce delivers four failed logins of one user to a lock sink on rdb that locks after
// three, and checks that it locks the user once.
func lockOnce(t *testing.T, rdb redis.UniversalClient, prefix string) {
	t.Helper()
	locker := &countingLocker{}
	s, err := lock.New(rdb, locker, lock.Config{KeyPrefix: prefix, FailedAttempts: 3, Period: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Second)
	var batch []event.Event
	for i := range 4 {
		body, err := json.Marshal(map[string]any{
			"event": "user.login", "uid": "login-" + string(rune('a'+i)), "time": at.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano),
			"user": "alice", "method": "local", "success": false, "code": "T1000W",
		})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := event.Parse(event.Audit, body)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, ev)
	}
	for i, r := range s.Deliver(t.Context(), batch) {
		if r.Outcome != sink.Delivered {
			t.Fatalf("failed login %d: %v %s", i, r.Outcome, r.Reason)
		}
	}
	if n := locker.calls.Load(); n != 1 {
		t.Fatalf("%d UpsertLock calls, want 1", n)
	}
}

// countingLocker accepts every lock and counts them.
type countingLocker struct{ calls atomic.Int64 }

func (c *countingLocker) UpsertLock(context.Context, types.Lock) error {
	c.calls.Add(1)
	return nil
}
