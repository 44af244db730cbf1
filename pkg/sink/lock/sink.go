package lock

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gravitational/teleport/api/types"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/sink"
)

// Name is the sink's name in configuration, consumers and metrics.
const Name = config.SinkLock

// Message is the message of every lock the Sink issues: teleport-event-handler's.
const Message = "User is locked due to too many failed login attempts"

const (
	// lockConcurrency bounds the UpsertLock calls of one Deliver in flight at once.
	lockConcurrency = 8
	// settleTimeout bounds recording the end of a batch's claims, which runs even after the
	// Deliver ctx has ended: a claim withdrawn now lets the retry lock without waiting for
	// pendingTTL.
	settleTimeout = 5 * time.Second
)

// Locker is the part of Teleport's API the Sink calls; *teleportsrc.Client implements it.
// UpsertLock creates the lock or replaces the lock of the same name. Its errors are read with
// teleportsrc.Classify.
type Locker interface {
	UpsertLock(ctx context.Context, lock types.Lock) error
}

// Sink counts failed logins in Redis and locks users in Teleport; see the package
// documentation. It is safe for concurrent use, and any number of Sinks, in any number of
// processes, may share one Redis and one Teleport cluster: together they issue one lock per
// user+login per period.
type Sink struct {
	store   *store
	locker  Locker
	cfg     Config
	log     *slog.Logger
	metrics *metrics
}

var _ sink.Sink = (*Sink)(nil)

// New returns a Sink that keeps its counts in rdb (a single server, Sentinel or Cluster
// client) and locks users through locker. It does not connect, and does not close rdb or
// locker. For Deliver to end promptly when its ctx does, rdb should be built with go-redis's
// ContextTimeoutEnabled; without it a call to an unresponsive Redis lasts up to the client's
// ReadTimeout. Errors wrap ErrConfig, or say why the metrics could not be registered.
func New(rdb redis.UniversalClient, locker Locker, cfg Config, opts ...Option) (*Sink, error) {
	if rdb == nil || locker == nil {
		return nil, fmt.Errorf("%w: a Redis client and a Teleport locker are required", ErrConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	m, err := newMetrics(o.registerer)
	if err != nil {
		return nil, fmt.Errorf("lock: register metrics: %w", err)
	}
	return &Sink{
		store:   &store{rdb: rdb, keys: newKeys(cfg.KeyPrefix), cfg: cfg, pendingTTL: pendingTTL},
		locker:  locker,
		cfg:     cfg,
		log:     o.logger,
		metrics: m,
	}, nil
}

// Name returns "lock".
func (s *Sink) Name() string { return Name }

// Deliver counts the failed logins of batch and issues the locks they call for; see the
// package documentation for each event's outcome.
func (s *Sink) Deliver(ctx context.Context, batch []event.Event) []sink.Result {
	results := make([]sink.Result, len(batch))
	if len(batch) == 0 {
		return results
	}
	if err := ctx.Err(); err != nil {
		return sink.All(len(batch), sink.Result{Outcome: sink.Retry, Reason: "lock: " + err.Error()})
	}

	logins, loginOf := s.read(batch, results)
	if len(logins) == 0 {
		return results
	}

	verdicts, err := s.store.count(ctx, logins)
	if err != nil {
		s.metrics.errors.WithLabelValues(opRedis).Inc()
		return sink.All(len(batch), redisResult(err))
	}
	outcomes := make([]sink.Result, len(logins))
	var claims []int
	for j, v := range verdicts {
		s.metrics.failedLogins.WithLabelValues(v.state.String()).Inc()
		switch v.claim {
		case claimed:
			claims = append(claims, j)
		case inFlight:
			outcomes[j] = sink.Result{Outcome: sink.Retry, RetryAfter: v.wait,
				Reason: "lock: this event's lock claim is in flight on another delivery; retry once it is settled or expired"}
			continue
		}
		outcomes[j] = sink.Result{Outcome: sink.Delivered}
	}
	if len(claims) > 0 {
		s.lock(ctx, logins, verdicts, claims, outcomes)
	}
	for i, j := range loginOf {
		if j >= 0 {
			results[i] = outcomes[j]
		}
	}
	return results
}

// read finds the failed logins of batch, one per event id (a batch may carry an event twice),
// and sets the results of the other events: Delivered, or Rejected when a user.login event
// cannot be read. loginOf[i] is the index in logins of event i, or -1.
func (s *Sink) read(batch []event.Event, results []sink.Result) (logins []failedLogin, loginOf []int) {
	loginOf = make([]int, len(batch))
	byID := make(map[string]int)
	now := time.Now()
	for i, e := range batch {
		loginOf[i] = -1
		l, ok, err := readFailedLogin(e, now)
		switch {
		case err != nil:
			results[i] = sink.Result{Outcome: sink.Rejected, Reason: "lock: " + err.Error()}
		case !ok:
			results[i] = sink.Result{Outcome: sink.Delivered}
		default:
			j, seen := byID[l.id]
			if !seen {
				j = len(logins)
				byID[l.id] = j
				logins = append(logins, l)
			}
			loginOf[i] = j
		}
	}
	return logins, loginOf
}

// lock calls UpsertLock for each claimed failed login, records each outcome in outcomes, and
// settles the claims in Redis.
func (s *Sink) lock(ctx context.Context, logins []failedLogin, verdicts []verdict, claims []int, outcomes []sink.Result) {
	settlements := make([]settlement, len(claims))
	var g errgroup.Group
	g.SetLimit(lockConcurrency)
	for k, j := range claims {
		g.Go(func() error {
			l := logins[j]
			err := s.upsert(ctx, l.target)
			settlements[k] = settlement{login: l, locked: err == nil}
			if err != nil {
				s.metrics.errors.WithLabelValues(opTeleport).Inc()
				outcomes[j] = teleportResult(l.target, err)
				return nil
			}
			s.metrics.locks.Inc()
			s.log.InfoContext(ctx, "Locked a Teleport user after repeated failed logins",
				"user", l.target.user, "login", l.target.login, "failed_logins", verdicts[j].most,
				"period", s.cfg.Period.String(), "lock_for", s.cfg.LockFor.String(), "event_id", l.id)
			return nil
		})
	}
	_ = g.Wait() // the goroutines return no error: each records its outcome

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if err := s.store.settle(sctx, settlements); err != nil {
		// Issued locks stand and failed claims are Retry either way. An unsettled claim expires
		// after pendingTTL; then the retried event, or the target's next failed login, claims
		// again (and upserts the same lock once more, if it was issued).
		s.metrics.errors.WithLabelValues(opRedis).Inc()
		s.log.WarnContext(ctx, "Could not record the end of lock claims in Redis; they expire by themselves",
			"claims", len(settlements), "error", err)
	}
}

// upsert issues the lock of t: the target user (and login, when the failed login named one),
// teleport-event-handler's message, and an expiry LockFor from now unless LockFor is zero.
func (s *Sink) upsert(ctx context.Context, t target) error {
	spec := types.LockSpecV2{
		Target:  types.LockTarget{User: t.user, Login: t.login},
		Message: Message,
	}
	if s.cfg.LockFor > 0 {
		expires := time.Now().Add(s.cfg.LockFor).UTC()
		spec.Expires = &expires
	}
	lock, err := types.NewLock(lockName(t), spec)
	if err != nil {
		return err
	}
	return s.locker.UpsertLock(ctx, lock)
}

// lockName is the name of t's lock. It depends on t alone, so that every replica, and every
// period, writes the same lock: two upserts of one target leave one lock.
func lockName(t target) string { return "auditpipe-failed-logins-" + t.id() }
