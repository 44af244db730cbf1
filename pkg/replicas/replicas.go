// Package replicas is the register of live service replicas, kept in Redis: every replica of
// ingest, shipper and admin beats every few seconds with a small status of its own, and the
// admin API lists who is alive and what each one reports (lag, newest event, sinks served).
//
// One Redis hash per service, <prefix>replicas:<service>, maps a replica id to its latest
// Replica as JSON. A beat writes the replica's field with an expiry inside the JSON; readers
// ignore (and delete) expired fields, so a replica that died without leaving disappears after
// its TTL. No script touches the hash, so it needs no hash tag on Redis Cluster.
package replicas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Services whose replicas beat.
const (
	ServiceIngest  = "ingest"
	ServiceShipper = "shipper"
	ServiceAdmin   = "admin"
)

// DefaultInterval is how often Run beats; a replica is listed for 3 intervals after its last
// beat.
const DefaultInterval = 5 * time.Second

// Replica is one live replica as it last reported itself.
type Replica struct {
	Service string    `json:"service"`
	ID      string    `json:"id"`
	Version string    `json:"version,omitempty"`
	Started time.Time `json:"started"`
	// Seen is the time of its last beat, Expires when it stops being listed without another.
	Seen    time.Time `json:"seen"`
	Expires time.Time `json:"expires"`
	// Status is what the replica chose to report, as JSON (e.g. ingest's lag and newest event
	// time, a shipper's sinks).
	Status json.RawMessage `json:"status,omitempty"`
}

// Registry reads and writes the register. It is safe for concurrent use.
type Registry struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

// New returns the register under keyPrefix (redis.key-prefix).
func New(rdb redis.UniversalClient, keyPrefix string) *Registry {
	return &Registry{rdb: rdb, prefix: keyPrefix, now: time.Now}
}

func (r *Registry) key(service string) string { return r.prefix + "replicas:" + service }

func validName(what, s string) error {
	if s == "" || strings.ContainsAny(s, "{}") {
		return fmt.Errorf("replicas: invalid %s %q", what, s)
	}
	return nil
}

// Beat records rep as alive now, until now+ttl. rep.Seen and rep.Expires are set by Beat.
func (r *Registry) Beat(ctx context.Context, rep Replica, ttl time.Duration) error {
	if err := errors.Join(validName("service", rep.Service), validName("id", rep.ID)); err != nil {
		return err
	}
	if ttl <= 0 {
		return fmt.Errorf("replicas: ttl %v is not positive", ttl)
	}
	rep.Seen = r.now().UTC()
	rep.Expires = rep.Seen.Add(ttl)
	b, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("replicas: encode %s/%s: %w", rep.Service, rep.ID, err)
	}
	if err := r.rdb.HSet(ctx, r.key(rep.Service), rep.ID, b).Err(); err != nil {
		return fmt.Errorf("replicas: beat %s/%s: %w", rep.Service, rep.ID, err)
	}
	return nil
}

// Leave removes a replica from the register (a graceful stop).
func (r *Registry) Leave(ctx context.Context, service, id string) error {
	if err := r.rdb.HDel(ctx, r.key(service), id).Err(); err != nil {
		return fmt.Errorf("replicas: leave %s/%s: %w", service, id, err)
	}
	return nil
}

// List returns the live replicas of service, sorted by id. Expired entries are left out and
// deleted; an entry that is not valid JSON is left out too (and deleted), so one bad writer
// cannot break the listing.
func (r *Registry) List(ctx context.Context, service string) ([]Replica, error) {
	all, err := r.rdb.HGetAll(ctx, r.key(service)).Result()
	if err != nil {
		return nil, fmt.Errorf("replicas: list %s: %w", service, err)
	}
	now := r.now()
	var live []Replica
	var stale []string
	for id, v := range all {
		var rep Replica
		if json.Unmarshal([]byte(v), &rep) != nil || !rep.Expires.After(now) {
			stale = append(stale, id)
			continue
		}
		live = append(live, rep)
	}
	if len(stale) > 0 {
		// Best effort: a failure only leaves the entries for the next List to delete.
		_ = r.rdb.HDel(ctx, r.key(service), stale...).Err()
	}
	slices.SortFunc(live, func(a, b Replica) int { return strings.Compare(a.ID, b.ID) })
	return live, nil
}

// Run beats for rep every interval (DefaultInterval when 0), with a TTL of three intervals,
// until ctx ends; then it leaves the register (with a fresh 2 s context) and returns nil.
// status, when not nil, is called before each beat and its result marshalled into
// rep.Status; it must be safe to call from Run's goroutine. A failed beat is passed to onErr
// (when not nil) and retried at the next interval: losing Redis for a while only makes the
// replica look absent.
func (r *Registry) Run(ctx context.Context, rep Replica, interval time.Duration, status func() any, onErr func(error)) error {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if rep.Started.IsZero() {
		rep.Started = r.now().UTC()
	}
	beat := func() {
		if status != nil {
			b, err := json.Marshal(status())
			if err != nil {
				if onErr != nil {
					onErr(fmt.Errorf("replicas: encode status: %w", err))
				}
				b = nil
			}
			rep.Status = b
		}
		if err := r.Beat(ctx, rep, 3*interval); err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
	}
	beat()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			leaveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if err := r.Leave(leaveCtx, rep.Service, rep.ID); err != nil && onErr != nil {
				onErr(err)
			}
			return nil
		case <-t.C:
			beat()
		}
	}
}

// WarnEvery bounds RunLogged's warnings of failed beats to one per interval.
const WarnEvery = time.Minute

// RunLogged is Run with its errors logged: a failed beat (or a failed Leave at the end) is a
// WARN record on logger, msg "replicas register: beat failed; the admin API does not list this
// replica until one succeeds" with err and failures_not_logged, at most one per WarnEvery;
// failures_not_logged counts the failures held back since the previous warning. Like Run it
// beats every interval (DefaultInterval when 0) until ctx ends, then leaves the register and
// returns nil: a register that does not answer never stops the replica.
func (r *Registry) RunLogged(ctx context.Context, rep Replica, interval time.Duration, status func() any, logger *slog.Logger) error {
	limit := &warnLimit{every: WarnEvery}
	return r.Run(ctx, rep, interval, status, func(err error) {
		if held, ok := limit.allow(r.now()); ok {
			logger.Warn("replicas register: beat failed; the admin API does not list this replica until one succeeds",
				"err", err, "failures_not_logged", held)
		}
	})
}

// warnLimit lets one warning through per interval and counts those it holds back. Only Run's
// goroutine uses it.
type warnLimit struct {
	every time.Duration
	last  time.Time
	held  int
}

// allow reports whether a warning may go out at now and, if so, how many were held back
// since the last one.
func (w *warnLimit) allow(now time.Time) (held int, ok bool) {
	if !w.last.IsZero() && now.Sub(w.last) < w.every {
		w.held++
		return 0, false
	}
	held, w.held, w.last = w.held, 0, now
	return held, true
}
