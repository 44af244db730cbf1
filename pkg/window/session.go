package window

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// SessionJob is the work of streaming one session recording to the stream, queued when ingest
// reads the session's session.upload event. It is leased like a window. A recording that is
// not found yet is retried with backoff (Config.SessionRetry) and, GiveUpAfter past its
// enqueue time, given up on: StateFailed, kept for status.
type SessionJob struct {
	// ID is the session id, or "r:<replay id>:<session id>" for a replay's job.
	ID        string
	SessionID string
	// ReplayID is the replay whose window queued the job, "" for the epoch's ingest.
	ReplayID string
	// Index is the saved progress: the event index to stream from.
	Index int64
	State State
	// Attempts counts attempts that ended in Retry; LastError is the reason the last one gave.
	Attempts  int64
	LastError string
	// ReadyAt is when a pending job becomes claimable (its next attempt).
	ReadyAt time.Time
	// Owner, Token and Expires describe the lease while the job is leased.
	Owner   string
	Token   int64
	Expires time.Time
	Claims  int64
	// EnqueuedAt is when the job was queued, StartedAt when it was first claimed, FinishedAt
	// when it became done or failed.
	EnqueuedAt, StartedAt, FinishedAt time.Time
}

func sessionJobID(sid, replayID string) string {
	if replayID == "" {
		return sid
	}
	return "r:" + replayID + ":" + sid
}

func decodeSessionJob(r *record) (SessionJob, error) {
	j := SessionJob{
		ID:         r.str("id"),
		SessionID:  r.str("sid"),
		ReplayID:   r.str("replay"),
		Index:      r.int("index"),
		State:      State(r.str("state")),
		Attempts:   r.int("attempts"),
		LastError:  r.str("error"),
		ReadyAt:    r.time("ready"),
		Owner:      r.str("owner"),
		Token:      r.int("token"),
		Expires:    r.time("expires"),
		Claims:     r.int("claims"),
		EnqueuedAt: r.time("created"),
		StartedAt:  r.time("started"),
		FinishedAt: r.time("finished"),
	}
	return j, r.err
}

// EnqueueSession queues the session job for a recording, claimable at once, and reports
// whether it created it. It is idempotent: a job for the same session and replay that exists,
// in any state, is left alone, so reading a session.upload event again (a repeated page, a
// settle pass) queues nothing.
func (s *Store) EnqueueSession(ctx context.Context, sid, replayID string) (bool, error) {
	if sid == "" {
		return false, fmt.Errorf("%w: empty session id", ErrInvalid)
	}
	if replayID != "" && !replayIDPattern.MatchString(replayID) {
		return false, fmt.Errorf("%w: replay id %q", ErrInvalid, replayID)
	}
	id := sessionJobID(sid, replayID)
	n, err := enqueueSessionScript.Run(ctx, s.rdb,
		[]string{s.keys.session(id), s.keys.sessionDue(), s.keys.sessionCounts()},
		id, sid, replayID, millis(s.now())).Int()
	if err != nil {
		return false, fmt.Errorf("window: enqueue session %s: %w", id, err)
	}
	return n == 1, nil
}

// Session reads one session job; ErrNotFound when there is none.
func (s *Store) Session(ctx context.Context, sid, replayID string) (SessionJob, error) {
	id := sessionJobID(sid, replayID)
	m, err := s.rdb.HGetAll(ctx, s.keys.session(id)).Result()
	if err != nil {
		return SessionJob{}, fmt.Errorf("window: read session %s: %w", id, err)
	}
	if len(m) == 0 {
		return SessionJob{}, fmt.Errorf("%w: session job %s", ErrNotFound, id)
	}
	return decodeSessionJob(&record{fields: m})
}

// ClaimSession leases one claimable session job to owner, the longest-ready first: a pending
// job whose next attempt is due, or a leased job whose lease expired. ErrPaused while ingest is
// paused, ErrNoWork when nothing is claimable. Atomic like Claim.
func (s *Store) ClaimSession(ctx context.Context, owner string) (*SessionLease, error) {
	if owner == "" {
		return nil, fmt.Errorf("%w: empty owner", ErrInvalid)
	}
	for range claimRounds {
		paused, _, err := s.Paused(ctx)
		if err != nil {
			return nil, err
		}
		if paused {
			return nil, ErrPaused
		}
		ids, err := s.rdb.ZRangeByScore(ctx, s.keys.sessionDue(), &redis.ZRangeBy{
			Min: "-inf", Max: millis(s.now()), Count: claimBatch,
		}).Result()
		if err != nil {
			return nil, fmt.Errorf("window: claim session: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			c := candidate{id: id, key: s.keys.session(id), due: s.keys.sessionDue(),
				counts: s.keys.sessionCounts(), mode: "none"}
			r, err := s.claimItem(ctx, c, owner)
			if errors.Is(err, errTaken) {
				continue
			}
			if err != nil {
				return nil, err
			}
			j, err := decodeSessionJob(r)
			if err != nil {
				return nil, err
			}
			return s.newSessionLease(j), nil
		}
	}
	return nil, ErrNoWork
}

// SessionLease is a replica's hold on one session job, with the same fencing contract as
// Lease: safe for concurrent use, and once it is lost, completed, retried or released every
// further call fails with ErrLeaseLost.
type SessionLease struct {
	hold
	job SessionJob // Index guarded by hold.mu
}

func (s *Store) newSessionLease(j SessionJob) *SessionLease {
	return &SessionLease{
		hold: hold{
			store:   s,
			id:      j.ID,
			keys:    []string{s.keys.session(j.ID), s.keys.sessionDue(), s.keys.sessionCounts(), s.keys.meta(), s.keys.activeReplays()},
			mode:    "none",
			owner:   j.Owner,
			token:   j.Token,
			expires: j.Expires,
		},
		job: j,
	}
}

// Job returns the leased job with the index committed last and the current expiry.
func (l *SessionLease) Job() SessionJob {
	l.mu.Lock()
	defer l.mu.Unlock()
	j := l.job
	j.Expires = l.expires
	return j
}

// Token is the lease's fencing token.
func (l *SessionLease) Token() int64 { return l.token }

// Expires is when the lease ends unless renewed.
func (l *SessionLease) Expires() time.Time { return l.expiry() }

// Renew extends the lease to now + LeaseTTL.
func (l *SessionLease) Renew(ctx context.Context) error { return l.renew(ctx) }

// KeepAlive renews the lease every interval until ctx ends (nil) or the lease is lost (an
// error matching ErrLeaseLost), as Lease.KeepAlive.
func (l *SessionLease) KeepAlive(ctx context.Context, every time.Duration) error {
	return l.keepAlive(ctx, every)
}

// Commit saves the index to stream from next, atomically and only under this lease.
func (l *SessionLease) Commit(ctx context.Context, index int64) error {
	if err := l.commit(ctx, "index", strconv.FormatInt(index, 10)); err != nil {
		return err
	}
	l.mu.Lock()
	l.job.Index = index
	l.mu.Unlock()
	return nil
}

// Complete ends the lease and the job: the recording was streamed to its end.
func (l *SessionLease) Complete(ctx context.Context) error {
	return l.finish(ctx, l.store.now(), StateDone, "", "")
}

// Retry ends the lease after a failed attempt (a recording not found yet, a broken stream)
// and returns the job as it now is: pending until its next attempt, backed off by
// Config.SessionRetry, or StateFailed once GiveUpAfter has passed since it was enqueued (the
// caller reports it). The index is kept. The last attempt is made at the give-up time.
func (l *SessionLease) Retry(ctx context.Context, reason string) (SessionJob, error) {
	j := l.Job()
	b := l.store.cfg.SessionRetry
	now := l.store.now()
	deadline := j.EnqueuedAt.Add(b.GiveUpAfter)
	j.Attempts++
	j.LastError = reason
	j.Owner, j.Token, j.Expires = "", 0, time.Time{}
	state, retry := StateFailed, ""
	if now.Before(deadline) {
		next := now.Add(b.delay(j.Attempts - 1))
		if next.After(deadline) {
			next = deadline
		}
		state, retry = StatePending, millis(next)
		j.ReadyAt = fromMillis(next.UnixMilli())
	} else {
		j.FinishedAt = fromMillis(now.UnixMilli())
	}
	if err := l.finish(ctx, now, state, retry, reason); err != nil {
		return SessionJob{}, err
	}
	j.State = state
	return j, nil
}

// Release ends the lease without ending the job: pending again at once, index kept.
func (l *SessionLease) Release(ctx context.Context) error { return l.release(ctx) }

// finish runs the finish script: state done, failed, or pending again from retry (unix ms).
func (l *SessionLease) finish(ctx context.Context, now time.Time, state State, retry, reason string) error {
	return l.run(ctx, "finish", finishSessionScript, l.keys[:3], now, string(state), retry, reason)
}
