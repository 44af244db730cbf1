package window

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store is ingest's coordination state in Redis: epochs, windows, replays, session jobs, their
// leases, the pause flag and the planner's leadership. It keeps no state of its own besides
// its Config, so any number of Stores, in any number of processes, may share one Redis, and a
// Store is safe for concurrent use.
type Store struct {
	rdb   redis.UniversalClient
	keys  keys
	cfg   Config
	clock Clock
}

// New returns a Store over a go-redis client: a single server, Sentinel or Cluster client.
// The Store does not close the client.
func New(rdb redis.UniversalClient, cfg Config) (*Store, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil Redis client", ErrInvalid)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	clock := cfg.Clock
	if clock == nil {
		clock = systemClock{}
	}
	return &Store{rdb: rdb, keys: newKeys(cfg.KeyPrefix), cfg: cfg, clock: clock}, nil
}

func (s *Store) now() time.Time { return s.clock.Now() }

// Window reads one window; ErrNotFound when there is none with that id.
func (s *Store) Window(ctx context.Context, id string) (Window, error) {
	m, err := s.rdb.HGetAll(ctx, s.keys.window(id)).Result()
	if err != nil {
		return Window{}, fmt.Errorf("window: read %s: %w", id, err)
	}
	if len(m) == 0 {
		return Window{}, fmt.Errorf("%w: window %s", ErrNotFound, id)
	}
	return decodeWindow(&record{fields: m})
}

// windows reads the windows of a queue in order of From.
func (s *Store) windows(ctx context.Context, q queue) ([]Window, error) {
	ids, err := s.rdb.ZRange(ctx, s.keys.index(q), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("window: list %s: %w", q, err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.keys.window(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("window: list %s: %w", q, err)
	}
	out := make([]Window, 0, len(ids))
	for _, c := range cmds {
		w, err := decodeWindow(&record{fields: c.Val()})
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}
