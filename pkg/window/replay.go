package window

import (
	"context"
	"crypto/rand"
	"fmt"
	"regexp"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxReplayWindows bounds one replay, whose windows one script creates.
const maxReplayWindows = 10_000

var replayIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ReplayState is where a replay is: active until all its windows are done or it is cancelled.
type ReplayState string

const (
	// ReplayActive: its windows are being claimed.
	ReplayActive ReplayState = "active"
	// ReplayDone: every window is done.
	ReplayDone ReplayState = "done"
	// ReplayCancelled: withdrawn by CancelReplay; windows not done by then never will be.
	ReplayCancelled ReplayState = "cancelled"
)

// ReplaySpec asks for a time range to be exported again.
type ReplaySpec struct {
	// ID names the replay: letters, digits, "_" and "-", at most 64. Empty: CreateReplay makes
	// one up.
	ID string
	// From and To bound the events to export again: From <= time < To.
	From, To time.Time
	// WindowSize slices the range into search windows.
	WindowSize time.Duration
	// Types, when set, restricts the replay to those event types; Sinks, when set, to those
	// sinks. Both are copied into every window of the replay.
	Types, Sinks []string
}

// Replay is an admin's re-export of a time range, and its progress.
type Replay struct {
	ID           string
	From, To     time.Time
	Types, Sinks []string
	State        ReplayState
	CreatedAt    time.Time
	// FinishedAt is when it became done or cancelled.
	FinishedAt time.Time
	// Windows counts the replay's windows by state: Done of Total() is its progress.
	Windows Counts
	// Events counts the events its windows published (AddReplayEvents); a page published
	// twice after a crash counts twice.
	Events int64
	// Settling counts the windows whose first pass is done and that wait for, or are in, their
	// settle pass (counted in Windows as pending or leased), and SettlesAt is the latest of
	// their ReadyAt: when the last of those passes becomes (or became) claimable. Only
	// ReplayProgress reads them, and only for an active replay; otherwise both are zero.
	// Windows whose first pass is still to come may add settle passes later.
	Settling  int64
	SettlesAt time.Time
}

// CreateReplay creates a replay and all its windows in one atomic step: search windows of
// spec.WindowSize over [From, To), tagged with the replay's id (which ingest puts in message
// ids, so the stream does not drop the deliberate repeats), claimable at once and whatever the
// ingest mode, since every backend answers searches. ErrExists when the id is taken.
func (s *Store) CreateReplay(ctx context.Context, spec ReplaySpec) (Replay, error) {
	if spec.ID == "" {
		spec.ID = rand.Text()
	}
	switch {
	case !replayIDPattern.MatchString(spec.ID):
		return Replay{}, fmt.Errorf("%w: replay id %q", ErrInvalid, spec.ID)
	case !spec.From.Before(spec.To):
		return Replay{}, fmt.Errorf("%w: replay from %v is not before to %v", ErrInvalid, spec.From, spec.To)
	case spec.WindowSize < time.Millisecond:
		return Replay{}, fmt.Errorf("%w: replay window size %v is under 1ms", ErrInvalid, spec.WindowSize)
	case (spec.To.Sub(spec.From)+spec.WindowSize-1)/spec.WindowSize > maxReplayWindows:
		return Replay{}, fmt.Errorf("%w: replay of %v in %v windows makes over %d windows", ErrInvalid,
			spec.To.Sub(spec.From), spec.WindowSize, maxReplayWindows)
	}
	types, err := encodeList(spec.Types)
	if err != nil {
		return Replay{}, fmt.Errorf("%w: replay types: %v", ErrInvalid, err)
	}
	sinks, err := encodeList(spec.Sinks)
	if err != nil {
		return Replay{}, fmt.Errorf("%w: replay sinks: %v", ErrInvalid, err)
	}
	var epoch int64
	if e, err := s.CurrentEpoch(ctx); err == nil {
		epoch = e.Number
	}
	q := replayQueue(spec.ID)
	keys := []string{s.keys.replay(spec.ID), s.keys.replays(), s.keys.activeReplays(),
		s.keys.due(q), s.keys.counts(q), s.keys.index(q)}
	args := []any{spec.ID, millis(spec.From), millis(spec.To), types, sinks, millis(s.now()), epoch}
	for from := spec.From; from.Before(spec.To); {
		to := from.Add(spec.WindowSize)
		if to.After(spec.To) {
			to = spec.To
		}
		id := searchWindowID(q, from, to)
		keys = append(keys, s.keys.window(id))
		args = append(args, id, millis(from), millis(to))
		from = to
	}
	n, err := replayScript.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return Replay{}, fmt.Errorf("window: create replay %s: %w", spec.ID, err)
	}
	if n == 0 {
		return Replay{}, fmt.Errorf("%w: replay %s", ErrExists, spec.ID)
	}
	return s.Replay(ctx, spec.ID)
}

// Replay reads one replay with its window counts (one round trip); ErrNotFound when there is
// none. It leaves Settling and SettlesAt zero: ReplayProgress reads them.
func (s *Store) Replay(ctx context.Context, id string) (Replay, error) {
	var rec, counts *redis.MapStringStringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		rec = p.HGetAll(ctx, s.keys.replay(id))
		counts = p.HGetAll(ctx, s.keys.counts(replayQueue(id)))
		return nil
	})
	if err != nil {
		return Replay{}, fmt.Errorf("window: read replay %s: %w", id, err)
	}
	return decodeReplay(id, rec.Val(), counts.Val())
}

// ReplayProgress reads one replay as Replay does and, when it is active, the settle passes its
// windows wait for (Settling, SettlesAt). That reads the state of each of its windows in
// flight (pending or leased): one more command per window, pipelined in one MULTI with the
// replay and its counts, so that Windows and Settling are one consistent snapshot. For the
// admin's progress reports; ErrNotFound when there is no such replay.
func (s *Store) ReplayProgress(ctx context.Context, id string) (Replay, error) {
	rp, err := s.Replay(ctx, id)
	if err != nil || rp.State != ReplayActive {
		return rp, err
	}
	// A replay's due set only loses members once the replay exists (claims, settle passes and
	// releases re-score members, none adds one), so the windows listed here are all its
	// windows in flight when the MULTI runs; those that left it since read as done or
	// cancelled and are skipped.
	q := replayQueue(id)
	ids, err := s.rdb.ZRange(ctx, s.keys.due(q), 0, -1).Result()
	if err != nil {
		return Replay{}, fmt.Errorf("window: read replay %s windows: %w", id, err)
	}
	var rec, counts *redis.MapStringStringCmd
	wins := make([]*redis.SliceCmd, len(ids))
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		rec = p.HGetAll(ctx, s.keys.replay(id))
		counts = p.HGetAll(ctx, s.keys.counts(q))
		for i, wid := range ids {
			wins[i] = p.HMGet(ctx, s.keys.window(wid), "state", "settle", "ready")
		}
		return nil
	})
	if err != nil {
		return Replay{}, fmt.Errorf("window: read replay %s: %w", id, err)
	}
	if rp, err = decodeReplay(id, rec.Val(), counts.Val()); err != nil || rp.State != ReplayActive {
		return rp, err
	}
	for _, c := range wins {
		v := c.Val()
		state, _ := v[0].(string)
		settle, _ := v[1].(string)
		ready, _ := v[2].(string)
		if settle != "1" || (state != string(StatePending) && state != string(StateLeased)) {
			continue
		}
		r := &record{fields: map[string]string{"ready": ready}}
		at := r.time("ready")
		if r.err != nil {
			return Replay{}, r.err
		}
		rp.Settling++
		if at.After(rp.SettlesAt) {
			rp.SettlesAt = at
		}
	}
	return rp, nil
}

// decodeReplay decodes a replay's record and window counts; ErrNotFound for an empty record.
func decodeReplay(id string, rec, counts map[string]string) (Replay, error) {
	if len(rec) == 0 {
		return Replay{}, fmt.Errorf("%w: replay %s", ErrNotFound, id)
	}
	r := &record{fields: rec}
	c := &record{fields: counts}
	rp := Replay{
		ID:         r.str("id"),
		From:       r.time("from"),
		To:         r.time("to"),
		Types:      r.list("types"),
		Sinks:      r.list("sinks"),
		State:      ReplayState(r.str("state")),
		CreatedAt:  r.time("created"),
		FinishedAt: r.time("finished"),
		Windows: Counts{
			Pending:   c.int(string(StatePending)),
			Leased:    c.int(string(StateLeased)),
			Done:      c.int(string(StateDone)),
			Cancelled: c.int(string(StateCancelled)),
		},
		Events: r.int("events"),
	}
	if r.err != nil {
		return Replay{}, r.err
	}
	return rp, c.err
}

// Replays lists every replay, oldest first, as Replay reads them.
func (s *Store) Replays(ctx context.Context) ([]Replay, error) {
	ids, err := s.rdb.ZRange(ctx, s.keys.replays(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("window: list replays: %w", err)
	}
	out := make([]Replay, 0, len(ids))
	for _, id := range ids {
		r, err := s.Replay(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// AddReplayEvents adds n to the events count of replay id, which ingest calls after each page
// of a replay window is published. A replay that does not exist (deleted, or never created) is
// left alone: the count never creates a replay record.
func (s *Store) AddReplayEvents(ctx context.Context, id string, n int64) error {
	if n == 0 {
		return nil
	}
	if err := addReplayEventsScript.Run(ctx, s.rdb, []string{s.keys.replay(id)}, n).Err(); err != nil {
		return fmt.Errorf("window: count replay %s events: %w", id, err)
	}
	return nil
}

// ReplayWindows lists a replay's windows in order of From.
func (s *Store) ReplayWindows(ctx context.Context, id string) ([]Window, error) {
	return s.windows(ctx, replayQueue(id))
}

// CancelReplay withdraws an active replay, atomically: its pending windows are never claimed
// again, and the holder of a leased one gets ErrCancelled at its next lease operation. A
// replay that is done or cancelled already is left as it is. ErrNotFound when there is none.
func (s *Store) CancelReplay(ctx context.Context, id string) (Replay, error) {
	n, err := cancelReplayScript.Run(ctx, s.rdb, []string{s.keys.replay(id), s.keys.activeReplays()},
		id, millis(s.now())).Int()
	if err != nil {
		return Replay{}, fmt.Errorf("window: cancel replay %s: %w", id, err)
	}
	if n < 0 {
		return Replay{}, fmt.Errorf("%w: replay %s", ErrNotFound, id)
	}
	return s.Replay(ctx, id)
}
