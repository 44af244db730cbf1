package window

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Counts is how many windows (or session jobs) are in each state. The lease scripts keep the
// counts in Redis in the same step as each state change, so reading them costs one command.
// A window waiting for its settle pass counts as pending. Failed is for session jobs only.
type Counts struct {
	Pending, Leased, Done, Cancelled, Failed int64
}

// Total is the number of items counted.
func (c Counts) Total() int64 { return c.Pending + c.Leased + c.Done + c.Cancelled + c.Failed }

// EpochCounts counts the windows of an epoch's own ingest by state. The counts of an epoch
// that was reset stop changing except for windows cancelled by their holders.
func (s *Store) EpochCounts(ctx context.Context, epoch int64) (Counts, error) {
	return s.counts(ctx, s.keys.counts(epochQueue(epoch)))
}

// SessionCounts counts the session jobs by state: Failed are recordings given up on.
func (s *Store) SessionCounts(ctx context.Context) (Counts, error) {
	return s.counts(ctx, s.keys.sessionCounts())
}

func (s *Store) counts(ctx context.Context, key string) (Counts, error) {
	m, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return Counts{}, fmt.Errorf("window: read counts: %w", err)
	}
	r := &record{fields: m}
	c := Counts{
		Pending:   r.int(string(StatePending)),
		Leased:    r.int(string(StateLeased)),
		Done:      r.int(string(StateDone)),
		Cancelled: r.int(string(StateCancelled)),
		Failed:    r.int(string(StateFailed)),
	}
	return c, r.err
}

// MissingSessions counts the session jobs that wait for a recording: pending after at least
// one attempt that ended in Retry (the recording was not found yet, or its stream broke). It
// reads every pending and leased job, so it costs one command per job in flight (pipelined).
func (s *Store) MissingSessions(ctx context.Context) (int64, error) {
	ids, err := s.rdb.ZRange(ctx, s.keys.sessionDue(), 0, -1).Result()
	if err != nil {
		return 0, fmt.Errorf("window: list session jobs: %w", err)
	}
	cmds := make([]*redis.SliceCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HMGet(ctx, s.keys.session(id), "state", "attempts")
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("window: read session jobs: %w", err)
	}
	var n int64
	for _, c := range cmds {
		vals := c.Val()
		state, _ := vals[0].(string)
		attempts, _ := vals[1].(string)
		if state == string(StatePending) && attempts != "" && attempts != "0" {
			n++
		}
	}
	return n, nil
}
