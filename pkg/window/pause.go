package window

import (
	"context"
	"fmt"
	"time"
)

// Pause stops ingest from taking new work: from its return on, claims of windows and session
// jobs fail with ErrPaused (the claim script checks the flag atomically). Leases already held
// are not revoked: their holders may finish, or Release on seeing Paused. Idempotent; the
// first Pause's time is kept.
func (s *Store) Pause(ctx context.Context) error {
	if err := s.rdb.HSetNX(ctx, s.keys.meta(), "paused", millis(s.now())).Err(); err != nil {
		return fmt.Errorf("window: pause: %w", err)
	}
	return nil
}

// Resume lets claims succeed again. Idempotent.
func (s *Store) Resume(ctx context.Context) error {
	if err := s.rdb.HDel(ctx, s.keys.meta(), "paused").Err(); err != nil {
		return fmt.Errorf("window: resume: %w", err)
	}
	return nil
}

// Paused reports whether ingest is paused, and since when.
func (s *Store) Paused(ctx context.Context) (bool, time.Time, error) {
	v, err := s.rdb.HGet(ctx, s.keys.meta(), "paused").Result()
	if isNil(err) {
		return false, time.Time{}, nil
	}
	if err != nil {
		return false, time.Time{}, fmt.Errorf("window: read pause: %w", err)
	}
	r := &record{fields: map[string]string{"paused": v}}
	since := r.time("paused")
	return true, since, r.err
}
