package window

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// planBatch is the most windows one planning script creates.
const planBatch = 500

// PlanSearch creates the search windows of the epoch in size slices, from its watermark
// (Epoch.PlannedUntil) up to and including the window that holds now, so the newest window is
// the tail that follows now. It returns how many windows it created.
//
// It is idempotent and safe to race: each batch of windows is created by one script only if
// the watermark is still where this call read it, and moves it, so two planners (or a planner
// after a restart) never create a range twice. The size may change between calls; windows
// already created keep theirs. ErrEpochChanged when epoch is no longer the current epoch.
func (s *Store) PlanSearch(ctx context.Context, epoch int64, size time.Duration) (int, error) {
	if size < time.Millisecond {
		return 0, fmt.Errorf("%w: window size %v is under 1ms", ErrInvalid, size)
	}
	q := epochQueue(epoch)
	created := 0
	for {
		cur, err := s.CurrentEpoch(ctx)
		if err != nil {
			return created, err
		}
		if cur.Number != epoch {
			return created, fmt.Errorf("%w: planning epoch %d, current is %d", ErrEpochChanged, epoch, cur.Number)
		}
		now := s.now()
		from := cur.PlannedUntil
		var keys []string
		var wins []any
		for len(keys) < planBatch && !from.After(now) {
			to := from.Add(size)
			id := searchWindowID(q, from, to)
			keys = append(keys, s.keys.window(id))
			wins = append(wins, id, string(KindSearch), millis(from), millis(to), "")
			from = to
		}
		if len(keys) == 0 {
			return created, nil
		}
		n, err := s.plan(ctx, q, epoch, millis(cur.PlannedUntil), millis(from), keys, wins)
		if err != nil {
			return created, err
		}
		created += n
	}
}

// EnsureExport makes sure a window exists for each chunk of one UTC day of the epoch, in
// export mode, and returns how many it created. It is idempotent: a chunk that has a window in
// this epoch, in any state, gets no second one, so the planner may list a day's chunks again
// and again to find the ones that appear late. day may be any time in the day; events before
// the epoch's start time are the reader's to skip. ErrEpochChanged when epoch is not current.
func (s *Store) EnsureExport(ctx context.Context, epoch int64, day time.Time, chunks ...string) (int, error) {
	y, m, d := day.UTC().Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 1)
	q := epochQueue(epoch)
	created := 0
	for len(chunks) > 0 {
		batch := chunks[:min(len(chunks), planBatch)]
		chunks = chunks[len(batch):]
		var keys []string
		var wins []any
		for _, c := range batch {
			if c == "" {
				return created, fmt.Errorf("%w: empty chunk name", ErrInvalid)
			}
			id := exportWindowID(q, from, c)
			keys = append(keys, s.keys.window(id))
			wins = append(wins, id, string(KindExport), millis(from), millis(to), c)
		}
		n, err := s.plan(ctx, q, epoch, "", "", keys, wins)
		if err != nil {
			return created, err
		}
		created += n
	}
	return created, nil
}

// plan runs the plan script: it creates the windows unless they exist, in one epoch, only if
// that epoch is current and (with expected set) only if the watermark is still expected. A
// moved watermark means another planner created this range: 0 windows, no error.
func (s *Store) plan(ctx context.Context, q queue, epoch int64, expected, planned string, windowKeys []string, wins []any) (int, error) {
	keys := append([]string{s.keys.meta(), s.keys.due(q), s.keys.counts(q), s.keys.index(q)}, windowKeys...)
	args := append([]any{strconv.FormatInt(epoch, 10), expected, planned, millis(s.now())}, wins...)
	n, err := planScript.Run(ctx, s.rdb, keys, args...).Int()
	switch {
	case err != nil:
		return 0, fmt.Errorf("window: plan epoch %d: %w", epoch, err)
	case n == -1:
		return 0, fmt.Errorf("%w: planning epoch %d", ErrEpochChanged, epoch)
	case n == -2:
		return 0, nil
	}
	return n, nil
}

// EpochWindows lists the windows of an epoch's own ingest (not its replays) in order of From:
// one hash read per window, so mind the cost with small window sizes.
func (s *Store) EpochWindows(ctx context.Context, epoch int64) ([]Window, error) {
	return s.windows(ctx, epochQueue(epoch))
}
