package window

import (
	"context"
	"fmt"
	"time"
)

// Epoch is one run of ingest from a start time. The first epoch starts at the configured
// start-time; an admin reset of the start time begins the next epoch, whose windows start over
// from the new time while the previous epoch's unfinished windows are withdrawn. Times are kept
// to the millisecond.
type Epoch struct {
	Number int64
	// Start is the earliest event time the epoch exports.
	Start time.Time
	// PlannedUntil is the search planner's watermark: search windows exist for
	// [Start, PlannedUntil). It is Start until the first window is planned.
	PlannedUntil time.Time
	CreatedAt    time.Time
}

// InitEpoch makes epoch 1 start at start unless an epoch exists, and returns the current
// epoch. It is how the configured start-time applies on the first start only: every replica
// may call it at every start, and a later start-time in the configuration changes nothing
// (ResetEpoch does). Atomic.
func (s *Store) InitEpoch(ctx context.Context, start time.Time) (Epoch, error) {
	if start.IsZero() {
		return Epoch{}, fmt.Errorf("%w: zero start time", ErrInvalid)
	}
	vals, err := initEpochScript.Run(ctx, s.rdb, []string{s.keys.meta()}, millis(start), millis(s.now())).Slice()
	if err != nil {
		return Epoch{}, fmt.Errorf("window: init epoch: %w", err)
	}
	return decodeEpoch(vals)
}

// ResetEpoch begins a new epoch that starts at start (the admin's start-time reset) and
// returns it. Atomic. From then on claims skip the previous epoch's windows, and a replica
// holding one gets ErrCancelled at its next lease operation. Replays are not affected.
func (s *Store) ResetEpoch(ctx context.Context, start time.Time) (Epoch, error) {
	if start.IsZero() {
		return Epoch{}, fmt.Errorf("%w: zero start time", ErrInvalid)
	}
	now := s.now()
	n, err := resetEpochScript.Run(ctx, s.rdb, []string{s.keys.meta()}, millis(start), millis(now)).Int64()
	if err != nil {
		return Epoch{}, fmt.Errorf("window: reset epoch: %w", err)
	}
	start, now = fromMillis(start.UnixMilli()), fromMillis(now.UnixMilli())
	return Epoch{Number: n, Start: start, PlannedUntil: start, CreatedAt: now}, nil
}

// CurrentEpoch reads the current epoch; ErrNotFound before the first InitEpoch or ResetEpoch.
func (s *Store) CurrentEpoch(ctx context.Context) (Epoch, error) {
	vals, err := s.rdb.HMGet(ctx, s.keys.meta(), "epoch", "start", "planned", "epoch-created").Result()
	if err != nil {
		return Epoch{}, fmt.Errorf("window: read epoch: %w", err)
	}
	return decodeEpoch(vals)
}

func decodeEpoch(vals []any) (Epoch, error) {
	if len(vals) != 4 || vals[0] == nil {
		return Epoch{}, fmt.Errorf("%w: no epoch yet", ErrNotFound)
	}
	r := &record{fields: map[string]string{}}
	for i, f := range []string{"epoch", "start", "planned", "epoch-created"} {
		r.fields[f], _ = vals[i].(string)
	}
	e := Epoch{Number: r.int("epoch"), Start: r.time("start"), PlannedUntil: r.time("planned"), CreatedAt: r.time("epoch-created")}
	return e, r.err
}
