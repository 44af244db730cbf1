package lock

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/gravitational/teleport/api/trail"
	"github.com/gravitational/trace"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// TestLockTeleportErrorOutcomes: how an UpsertLock failure decides its event's outcome. Access
// denied (the role lacks lock create/update) blocks the sink until an operator acts.
func TestLockTeleportErrorOutcomes(t *testing.T) {
	tests := []struct {
		name        string
		given       error
		want        sink.Outcome
		wantBlocked bool
	}{
		{"access denied", trace.AccessDenied(`access denied to perform action "create" on "lock"`), sink.Retry, true},
		{"permission denied status", trail.FromGRPC(status.Error(codes.PermissionDenied, "denied")), sink.Retry, true},
		{"unauthenticated", trail.FromGRPC(status.Error(codes.Unauthenticated, "bad cert")), sink.Retry, true},
		{"certificate expired", fmt.Errorf("teleportsrc: upsert_lock: %w", teleportsrc.ErrCertExpired), sink.Retry, true},
		{"not implemented", trace.NotImplemented("no locks here"), sink.Retry, true},
		{"unavailable", trail.FromGRPC(status.Error(codes.Unavailable, "down")), sink.Retry, false},
		{"connection problem", trace.ConnectionProblem(errors.New("reset"), "lost"), sink.Retry, false},
		{"rate limited", trail.FromGRPC(status.Error(codes.ResourceExhausted, "slow down")), sink.Retry, false},
		{"deadline", context.DeadlineExceeded, sink.Retry, false},
		{"canceled", context.Canceled, sink.Retry, false},
		{"client closed", teleportsrc.ErrClosed, sink.Retry, false},
		{"bad lock", trace.BadParameter("at least one target field must be set"), sink.Rejected, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := teleportResult(target{user: "alice", login: "root"}, tt.given)
			if got.Outcome != tt.want || got.Blocked != tt.wantBlocked {
				t.Errorf("teleportResult(%v) = %s (blocked %t), want %s (blocked %t)", tt.given, got.Outcome, got.Blocked, tt.want, tt.wantBlocked)
			}
			if !strings.Contains(got.Reason, `"alice"`) || !strings.Contains(got.Reason, tt.given.Error()) {
				t.Errorf("reason %q does not name the user and the error", got.Reason)
			}
		})
	}
}

// TestLockRedisErrorOutcomes: how a failed Redis request decides the outcome of the whole
// batch, against a real Redis: refused credentials and ACLs block, an unreachable Redis is
// retried, a key of the wrong type rejects. A batch without failed logins needs no Redis.
func TestLockRedisErrorOutcomes(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	user := "auditpipe-test-" + strings.NewReplacer(":", "-").Replace(strings.TrimSuffix(e.redis.Prefix, ":"))
	const password = "s3cret-Redis-password"
	if err := e.rdb.Do(ctx, "ACL", "SETUSER", user, "reset", "on", ">"+password, "~*", "+@all", "-eval", "-evalsha").Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	t.Cleanup(func() { _ = e.rdb.Do(context.Background(), "ACL", "DELUSER", user).Err() })

	closed := func() string {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := lis.Addr().String()
		_ = lis.Close()
		return addr
	}()
	newSink := func(t *testing.T, opts *redis.Options) *Sink {
		opts.ContextTimeoutEnabled = true
		opts.MaxRetries = -1
		rdb := redis.NewClient(opts)
		t.Cleanup(func() { _ = rdb.Close() })
		s, err := New(rdb, e.teleport(t), e.config())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	batch := []event.Event{
		login(t, "f1", "alice", "root", base, false),
		parse(t, map[string]any{"event": "session.start", "uid": "s1", "time": base, "user": "alice"}),
	}

	tests := []struct {
		name        string
		opts        redis.Options
		prepare     func(t *testing.T)
		want        sink.Outcome
		wantBlocked bool
	}{
		{name: "no permission to run scripts", opts: redis.Options{Addr: e.redis.Addr, Username: user, Password: password},
			want: sink.Retry, wantBlocked: true},
		{name: "wrong password", opts: redis.Options{Addr: e.redis.Addr, Username: user, Password: "wrong"},
			want: sink.Retry, wantBlocked: true},
		{name: "unreachable", opts: redis.Options{Addr: closed}, want: sink.Retry},
		{name: "key of another type", opts: redis.Options{Addr: e.redis.Addr}, prepare: func(t *testing.T) {
			key := newKeys(e.redis.Prefix).failures(target{user: "alice", login: "root"})
			if err := e.rdb.Set(ctx, key, "not a sorted set", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}, want: sink.Rejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.prepare != nil {
				tt.prepare(t)
			}
			s := newSink(t, &tt.opts)
			for i, r := range s.Deliver(ctx, batch) {
				if r.Outcome != tt.want || r.Blocked != tt.wantBlocked || !strings.HasPrefix(r.Reason, "redis: ") {
					t.Errorf("event %d: %s (blocked %t): %q; want %s (blocked %t) with a redis reason",
						i, r.Outcome, r.Blocked, r.Reason, tt.want, tt.wantBlocked)
				}
				if strings.Contains(r.Reason, password) {
					t.Errorf("event %d: the reason holds the Redis password", i)
				}
			}
			// Nothing to count: no Redis request, nothing to fail.
			if r := s.Deliver(ctx, batch[1:]); r[0].Outcome != sink.Delivered {
				t.Errorf("a batch without failed logins: %s: %s, want delivered", r[0].Outcome, r[0].Reason)
			}
		})
	}
	if n := len(e.sim.Locks()); n != 0 {
		t.Fatalf("%d locks, want none", n)
	}
}
