package lock

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
	"github.com/auditpipe/auditpipe/pkg/sink/sinktest"
)

// TestLockSuite runs the behaviour suite every sink passes. The lock sink's peer is Redis,
// behind a proxy that fails the sink's script calls as the suite asks, and the Teleport
// simulator; see lockPeer for what "received" means.
func TestLockSuite(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (sink.Sink, sinktest.Peer) {
		e := newEnv(t, nil)
		proxy := newFaultProxy(t, e.redis.Addr)
		r := e.newReplicaAt(t, proxy.Addr(), e.config())
		peer := &lockPeer{
			env:       e,
			keys:      newKeys(e.redis.Prefix),
			proxy:     proxy,
			bodies:    make(map[string]json.RawMessage),
			logins:    make(map[string]failedLogin),
			delivered: make(map[string]bool),
		}
		return &recorder{Sink: r.Sink, peer: peer}, peer
	})
}

// recorder is the lock Sink as the suite sees it: it shows the peer each batch before
// delivering it, and which of its events the Sink reported Delivered.
type recorder struct {
	*Sink
	peer *lockPeer
}

func (r *recorder) Deliver(ctx context.Context, batch []event.Event) []sink.Result {
	r.peer.saw(batch)
	results := r.Sink.Deliver(ctx, batch)
	r.peer.reported(batch, results)
	return results
}

// lockPeer is the far side of the lock sink: Redis and Teleport. An event counts as received
// once the Sink has durably done what the event calls for:
//   - a failed login (a user.login with "success": false and a "user", as the peer reads it
//     itself): its event id is in its target's failures in Redis, and it holds no
//     unconfirmed claim on the target's lock; when it claimed the lock and marked it issued,
//     the simulator holds that lock;
//   - any other event calls for nothing: it counts as received once Deliver reported it
//     Delivered.
//
// Fail fails the Sink's script calls in Redis (see faultProxy.fail). It is safe for concurrent
// use.
type lockPeer struct {
	env   *env
	keys  keys
	proxy *faultProxy

	mu        sync.Mutex
	order     []string // sinktest.Key of every event seen, in the order first seen
	bodies    map[string]json.RawMessage
	logins    map[string]failedLogin // by key, the events that are failed logins
	delivered map[string]bool        // by key, the other events reported Delivered
}

// saw records the events of batch, before Deliver.
func (p *lockPeer) saw(batch []event.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range batch {
		key := sinktest.Key(e.Body)
		if _, ok := p.bodies[key]; ok {
			continue
		}
		p.order = append(p.order, key)
		p.bodies[key] = append(json.RawMessage(nil), e.Body...)
		if l, ok := peerFailedLogin(e); ok {
			p.logins[key] = l
		}
	}
}

// reported records which events of batch that call for nothing Deliver reported Delivered.
func (p *lockPeer) reported(batch []event.Event, results []sink.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range results {
		if i >= len(batch) || r.Outcome != sink.Delivered {
			continue
		}
		key := sinktest.Key(batch[i].Body)
		if _, isLogin := p.logins[key]; !isLogin {
			p.delivered[key] = true
		}
	}
}

// peerFailedLogin reads e as the peer understands a failed login, independently of the Sink.
func peerFailedLogin(e event.Event) (failedLogin, bool) {
	var f struct {
		Event   string `json:"event"`
		User    string `json:"user"`
		Login   string `json:"login"`
		Success *bool  `json:"success"`
	}
	if json.Unmarshal(e.Body, &f) != nil || f.Event != "user.login" || f.Success == nil || *f.Success || f.User == "" {
		return failedLogin{}, false
	}
	return failedLogin{target: target{user: f.User, login: f.Login}, id: e.ID()}, true
}

func (p *lockPeer) Received() []json.RawMessage {
	p.mu.Lock()
	order := append([]string(nil), p.order...)
	logins := make(map[string]failedLogin, len(p.logins))
	for k, l := range p.logins {
		logins[k] = l
	}
	delivered := make(map[string]bool, len(p.delivered))
	for k, d := range p.delivered {
		delivered[k] = d
	}
	bodies := make(map[string]json.RawMessage, len(p.bodies))
	for k, b := range p.bodies {
		bodies[k] = b
	}
	p.mu.Unlock()

	done := p.processed(logins)
	var out []json.RawMessage
	for _, key := range order {
		_, isLogin := logins[key]
		if (isLogin && done[key]) || (!isLogin && delivered[key]) {
			out = append(out, append(json.RawMessage(nil), bodies[key]...))
		}
	}
	return out
}

// processed reports, by key, which failed logins Redis and Teleport show as done. A Redis
// error counts as not done.
func (p *lockPeer) processed(logins map[string]failedLogin) map[string]bool {
	type check struct {
		key    string
		login  failedLogin
		score  *redis.FloatCmd
		marker *redis.StringCmd
	}
	ctx := context.Background()
	checks := make([]check, 0, len(logins))
	_, err := p.env.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for key, l := range logins {
			checks = append(checks, check{
				key: key, login: l,
				score:  pl.ZScore(ctx, p.keys.failures(l.target), l.id),
				marker: pl.Get(ctx, p.keys.marker(l.target)),
			})
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil
	}
	locks := p.env.locksOf()
	done := make(map[string]bool, len(checks))
	for _, c := range checks {
		if c.score.Err() != nil {
			continue
		}
		switch c.marker.Val() {
		case "pending:" + c.login.id:
			continue
		case "issued:" + c.login.id:
			if _, ok := locks[lockName(c.login.target)]; !ok {
				continue
			}
		}
		done[c.key] = true
	}
	return done
}

func (p *lockPeer) Fail(n int, kind sinktest.FailureKind) { p.proxy.fail(n, kind) }

// Secrets is empty: the test's Redis has no password, and the Teleport identity never
// reaches the Sink.
func (p *lockPeer) Secrets() []string { return nil }
