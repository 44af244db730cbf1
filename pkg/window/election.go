package window

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Election makes one replica at a time the leader of a named task (the planner), by a lease on
// one Redis key: SET NX PX takes it, the holder renews it well before its TTL ends, and it
// passes to another replica only when the holder resigns or stops renewing. Each term has a
// value "<owner>#<term>" where term is a fencing token from a counter, so an old leader's
// renewal can never extend a newer leader's term. Unlike window leases, the TTL runs on the
// Redis server's clock (PX).
//
// An Election is safe for concurrent use; the Planner drives one from a single goroutine.
type Election struct {
	rdb   redis.UniversalClient
	key   string
	terms string
	owner string
	ttl   time.Duration

	mu    sync.Mutex
	value string // "" when not leading
}

// NewElection returns an election for the named task among replicas, as owner (unique per
// process), with leadership lasting ttl unless renewed.
func (s *Store) NewElection(name, owner string, ttl time.Duration) (*Election, error) {
	switch {
	case name == "":
		return nil, fmt.Errorf("%w: empty election name", ErrInvalid)
	case owner == "" || strings.Contains(owner, "#"):
		return nil, fmt.Errorf("%w: election owner %q", ErrInvalid, owner)
	case ttl < time.Millisecond:
		return nil, fmt.Errorf("%w: leader TTL %v is under 1ms", ErrInvalid, ttl)
	}
	return &Election{rdb: s.rdb, key: s.keys.leader(name), terms: s.keys.terms(name), owner: owner, ttl: ttl}, nil
}

// Acquire makes the caller the leader if nobody leads, and reports whether the caller leads
// now. When the caller leads already it renews its term instead; when its term ran out, it
// may win a new one.
func (e *Election) Acquire(ctx context.Context) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.value != "" {
		if ok, err := e.renewLocked(ctx); ok || err != nil {
			return ok, err
		}
	}
	v, err := leaderAcquireScript.Run(ctx, e.rdb, []string{e.key, e.terms}, e.owner, e.ttl.Milliseconds()).Text()
	if isNil(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("window: acquire leadership: %w", err)
	}
	e.value = v
	return true, nil
}

// Renew extends the caller's leadership by the TTL. ErrLeaseLost when the caller does not lead
// (any more): the TTL ran out and another replica took over, or the caller resigned.
func (e *Election) Renew(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	ok, err := e.renewLocked(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: leadership of %s", ErrLeaseLost, e.key)
	}
	return nil
}

func (e *Election) renewLocked(ctx context.Context) (bool, error) {
	if e.value == "" {
		return false, nil
	}
	n, err := leaderRenewScript.Run(ctx, e.rdb, []string{e.key}, e.value, e.ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("window: renew leadership: %w", err)
	}
	if n == 0 {
		e.value = ""
		return false, nil
	}
	return true, nil
}

// Resign gives up the caller's leadership at once, so another replica can take over without
// waiting for the TTL. It is a no-op when the caller does not lead.
func (e *Election) Resign(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.value == "" {
		return nil
	}
	if err := leaderResignScript.Run(ctx, e.rdb, []string{e.key}, e.value).Err(); err != nil {
		return fmt.Errorf("window: resign leadership: %w", err)
	}
	e.value = ""
	return nil
}

// Term is the fencing token of the caller's current term, 0 when it does not lead as far as
// it knows (a term may have run out since its last Acquire or Renew).
func (e *Election) Term() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, term := splitLeader(e.value)
	return term
}

// Leader reads who leads now and in which term; "" and 0 when nobody does.
func (e *Election) Leader(ctx context.Context) (string, int64, error) {
	v, err := e.rdb.Get(ctx, e.key).Result()
	if isNil(err) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("window: read leader: %w", err)
	}
	owner, term := splitLeader(v)
	return owner, term, nil
}

// splitLeader splits a leader value "<owner>#<term>".
func splitLeader(v string) (string, int64) {
	i := strings.LastIndexByte(v, '#')
	if i < 0 {
		return "", 0
	}
	term, _ := strconv.ParseInt(v[i+1:], 10, 64)
	return v[:i], term
}

// isNil reports whether Redis answered nil.
func isNil(err error) bool { return errors.Is(err, redis.Nil) }
