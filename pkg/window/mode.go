package window

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// RecordMode records mode (ingest's "search" or "export") as epoch's mode unless one is
// recorded already, and returns the recorded mode: the first replica to decide an epoch's mode
// decides it for every replica and every restart. Atomic (HSETNX).
func (s *Store) RecordMode(ctx context.Context, epoch int64, mode string) (string, error) {
	if mode == "" {
		return "", fmt.Errorf("%w: empty mode for epoch %d", ErrInvalid, epoch)
	}
	field := strconv.FormatInt(epoch, 10)
	if err := s.rdb.HSetNX(ctx, s.keys.modes(), field, mode).Err(); err != nil {
		return "", fmt.Errorf("window: record the mode of epoch %d: %w", epoch, err)
	}
	return s.Mode(ctx, epoch)
}

// Mode returns epoch's recorded mode, "" when none is recorded yet.
func (s *Store) Mode(ctx context.Context, epoch int64) (string, error) {
	mode, err := s.rdb.HGet(ctx, s.keys.modes(), strconv.FormatInt(epoch, 10)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("window: read the mode of epoch %d: %w", epoch, err)
	}
	return mode, nil
}
