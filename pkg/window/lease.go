package window

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// hold is what window leases and session-job leases share: the item's keys, the owner, the
// fencing token and the expiry. Every operation is one Lua script that first compares token and
// owner with those stored on the item and does nothing when they differ (ErrLeaseLost): once
// another replica has claimed the item, or the lease was completed or released, nothing written
// under the old token is accepted. Clock time decides only when an item becomes claimable.
type hold struct {
	store *Store
	id    string
	keys  []string // item, due set, counts, meta, active replays
	mode  string   // how the scripts check the work is still wanted: "epoch", "replay", "none"
	arg   string
	owner string
	token int64

	mu      sync.Mutex
	expires time.Time
}

func (h *hold) expiry() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.expires
}

// status turns a lease script's answer into an error.
func (h *hold) status(op, s string) error {
	switch s {
	case "lost":
		return fmt.Errorf("%w: %s %s with token %d", ErrLeaseLost, op, h.id, h.token)
	case "cancelled":
		return fmt.Errorf("%w: %s %s", ErrCancelled, op, h.id)
	}
	return nil
}

// run runs one lease script at time now. The scripts take the keys in h.keys and the
// arguments id, mode, mode arg, token, owner and now, then those given.
func (h *hold) run(ctx context.Context, op string, s *redis.Script, keys []string, now time.Time, args ...any) error {
	args = append([]any{h.id, h.mode, h.arg, h.token, h.owner, millis(now)}, args...)
	status, err := s.Run(ctx, h.store.rdb, keys, args...).Text()
	if err != nil {
		return fmt.Errorf("window: %s %s: %w", op, h.id, err)
	}
	return h.status(op, status)
}

func (h *hold) renew(ctx context.Context) error {
	now := h.store.now()
	expires := now.Add(h.store.cfg.LeaseTTL)
	if err := h.run(ctx, "renew", renewScript, h.keys, now, millis(expires)); err != nil {
		return err
	}
	h.mu.Lock()
	h.expires = expires
	h.mu.Unlock()
	return nil
}

func (h *hold) commit(ctx context.Context, field, value string) error {
	return h.run(ctx, "commit", commitScript, h.keys, h.store.now(), field, value)
}

func (h *hold) release(ctx context.Context) error {
	return h.run(ctx, "release", releaseScript, h.keys, h.store.now())
}

// keepAlive renews every interval until ctx ends (nil) or the lease is lost: the token went
// stale, the work was cancelled, or renewals kept failing (Redis unreachable) until the lease
// expired. Each of those returns an error matching ErrLeaseLost.
func (h *hold) keepAlive(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("%w: keep-alive interval %v", ErrInvalid, every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		err := h.renew(ctx)
		switch {
		case err == nil:
		case errors.Is(err, ErrLeaseLost):
			return err
		case ctx.Err() != nil:
			return nil
		case !h.store.now().Before(h.expiry()):
			return fmt.Errorf("%w: %s expired while renewals failed: %w", ErrLeaseLost, h.id, err)
		}
	}
}

// Lease is a replica's hold on one window: an owner, a fencing token and an expiry. Claim
// returns it. While the lease lives, only its holder can move the window's cursor or end it.
//
// A Lease is safe for concurrent use, so KeepAlive may run in its own goroutine beside the
// goroutine that commits. After Complete or Release, or once any call returned an error
// matching ErrLeaseLost, every further call fails with ErrLeaseLost. When the window's epoch
// was reset or its replay cancelled, the next call cancels the window and fails with
// ErrCancelled, which matches ErrLeaseLost too.
type Lease struct {
	hold
	window Window // Cursor guarded by hold.mu
}

func (s *Store) newLease(w Window) *Lease {
	q := w.queue()
	mode, arg := w.leaseScope()
	return &Lease{
		hold: hold{
			store:   s,
			id:      w.ID,
			keys:    []string{s.keys.window(w.ID), s.keys.due(q), s.keys.counts(q), s.keys.meta(), s.keys.activeReplays()},
			mode:    mode,
			arg:     arg,
			owner:   w.Owner,
			token:   w.Token,
			expires: w.Expires,
		},
		window: w,
	}
}

// Window returns the leased window with the cursor committed last and the current expiry.
func (l *Lease) Window() Window {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.window
	w.Expires = l.expires
	return w
}

// Expires is when the lease ends unless renewed.
func (l *Lease) Expires() time.Time { return l.expiry() }

// Token is the lease's fencing token: unique, and greater than every token granted before it.
func (l *Lease) Token() int64 { return l.token }

// Renew extends the lease to now + LeaseTTL. Holders renew well before expiry (KeepAlive).
// A lease that expired but was not claimed by anyone yet can still be renewed.
func (l *Lease) Renew(ctx context.Context) error { return l.renew(ctx) }

// KeepAlive renews the lease every interval (LeaseTTL/3 is a good choice) until ctx ends,
// when it returns nil, or until the lease is lost, when it returns an error matching
// ErrLeaseLost and the holder must stop working on the window.
func (l *Lease) KeepAlive(ctx context.Context, every time.Duration) error {
	return l.keepAlive(ctx, every)
}

// Commit saves the cursor of the window, atomically and only if this lease still holds it:
// a replica whose lease expired and was claimed by another can never move the cursor back or
// forward. Commit a cursor only once every event before it is stored downstream.
func (l *Lease) Commit(ctx context.Context, cursor string) error {
	if err := l.commit(ctx, "cursor", cursor); err != nil {
		return err
	}
	l.mu.Lock()
	l.window.Cursor = cursor
	l.mu.Unlock()
	return nil
}

// Complete ends the lease and the window's pass, atomically and only if this lease still holds
// the window. A search window whose first pass started before To + SettleGrace goes back to
// pending for one settle pass from that time, with an empty cursor; otherwise the window is
// done (and so is its replay, when it was the replay's last window).
func (l *Lease) Complete(ctx context.Context) error {
	w := l.Window()
	settle := ""
	if grace := l.store.cfg.SettleGrace; grace > 0 && w.Kind == KindSearch && !w.Settle {
		if at := w.To.Add(grace); w.StartedAt.Before(at) {
			settle = millis(at)
		}
	}
	keys := l.keys
	if w.ReplayID != "" {
		keys = append(keys[:len(keys):len(keys)], l.store.keys.replay(w.ReplayID))
	}
	return l.run(ctx, "complete", completeScript, keys, l.store.now(), settle)
}

// Release ends the lease without ending the window: it is pending again at once, its cursor
// kept, for any replica to claim (a replica shutting down releases what it holds).
func (l *Lease) Release(ctx context.Context) error { return l.release(ctx) }
