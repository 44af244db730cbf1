package window

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

const (
	// claimBatch is how many claimable items a claim reads per queue before trying them.
	claimBatch = 16
	// claimRounds is how many times a claim reads candidates again when others took them all.
	claimRounds = 3
)

// errTaken: the candidate stopped being claimable between reading it and the claim script.
var errTaken = errors.New("window: candidate taken")

// candidate is a claimable item as read from a due set, and what its claim script needs.
type candidate struct {
	id, key, due, counts string
	mode, arg            string
	score                float64
}

// Claim leases one claimable window to owner: a pending window whose ready time has come, or a
// leased window whose lease expired. owner names the holder and must be unique to the process
// (a replica id, optionally with a worker number); lease operations check it beside the token.
// Claim returns ErrPaused while ingest is paused, and ErrNoWork when nothing is claimable (or
// other replicas took every candidate it read): the caller waits and claims again.
//
// Windows of the current epoch and of every active replay are candidates; the most recently
// ready is claimed first, so the live tail, settle passes, released windows and expired leases
// go before a deep backfill. The lease is granted by one Lua script that checks, atomically,
// that the window is still claimable and the store not paused: two replicas never hold the same
// window. How many windows a replica holds at once is the caller's choice (its concurrency).
func (s *Store) Claim(ctx context.Context, owner string) (*Lease, error) {
	if owner == "" {
		return nil, fmt.Errorf("%w: empty owner", ErrInvalid)
	}
	for range claimRounds {
		cands, err := s.windowCandidates(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range cands {
			r, err := s.claimItem(ctx, c, owner)
			if errors.Is(err, errTaken) {
				continue
			}
			if err != nil {
				return nil, err
			}
			w, err := decodeWindow(r)
			if err != nil {
				return nil, err
			}
			return s.newLease(w), nil
		}
		if len(cands) == 0 {
			break
		}
	}
	return nil, ErrNoWork
}

// windowCandidates reads the claimable windows of the current epoch and the active replays,
// most recently ready first; ErrPaused while paused.
func (s *Store) windowCandidates(ctx context.Context) ([]candidate, error) {
	var meta *redis.SliceCmd
	var active *redis.StringSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		meta = p.HMGet(ctx, s.keys.meta(), "paused", "epoch")
		active = p.SMembers(ctx, s.keys.activeReplays())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("window: claim: %w", err)
	}
	if meta.Val()[0] != nil {
		return nil, ErrPaused
	}
	type scope struct {
		q         queue
		mode, arg string
	}
	var scopes []scope
	if epoch, ok := meta.Val()[1].(string); ok {
		n, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("window: claim: epoch %q: %w", epoch, err)
		}
		scopes = append(scopes, scope{epochQueue(n), "epoch", epoch})
	}
	for _, id := range active.Val() {
		scopes = append(scopes, scope{replayQueue(id), "replay", id})
	}
	now := millis(s.now())
	cmds := make([]*redis.ZSliceCmd, len(scopes))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, sc := range scopes {
			cmds[i] = p.ZRevRangeByScoreWithScores(ctx, s.keys.due(sc.q),
				&redis.ZRangeBy{Max: now, Min: "-inf", Count: claimBatch})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("window: claim: %w", err)
	}
	var cands []candidate
	for i, sc := range scopes {
		for _, z := range cmds[i].Val() {
			id, _ := z.Member.(string)
			cands = append(cands, candidate{
				id: id, key: s.keys.window(id), due: s.keys.due(sc.q), counts: s.keys.counts(sc.q),
				mode: sc.mode, arg: sc.arg, score: z.Score,
			})
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int { return cmp.Compare(b.score, a.score) })
	return cands, nil
}

// claimItem runs the claim script on one candidate and returns the item's fields once leased.
func (s *Store) claimItem(ctx context.Context, c candidate, owner string) (*record, error) {
	now := s.now()
	reply, err := claimScript.Run(ctx, s.rdb,
		[]string{c.key, c.due, c.counts, s.keys.meta(), s.keys.activeReplays(), s.keys.tokens()},
		c.id, c.mode, c.arg, owner, millis(now), millis(now.Add(s.cfg.LeaseTTL))).Slice()
	if err != nil {
		return nil, fmt.Errorf("window: claim %s: %w", c.id, err)
	}
	if len(reply) == 0 {
		return nil, fmt.Errorf("window: claim %s: empty script reply", c.id)
	}
	status, _ := reply[0].(string)
	switch {
	case status == "ok" && len(reply) == 2:
		return recordOf(reply[1])
	case status == "paused":
		return nil, ErrPaused
	case status == "taken" || status == "cancelled":
		return nil, errTaken
	}
	return nil, fmt.Errorf("window: claim %s: unexpected script reply %v", c.id, reply)
}
