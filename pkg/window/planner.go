package window

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// plannerElection names the planner's leadership key.
const plannerElection = "planner"

// PlanFunc runs one planning round for the current epoch: in search mode PlanSearch (see
// Store.SearchPlan), in export mode EnsureExport for the chunks the caller lists from Teleport,
// including recent days where chunks appear late. Its ctx ends when the planner stops or loses
// the leadership. Rounds must be idempotent; PlanSearch and EnsureExport are.
type PlanFunc func(ctx context.Context, epoch Epoch) error

// PlannerConfig sets up a Planner.
type PlannerConfig struct {
	// Owner identifies this replica in the election; unique per process.
	Owner string
	// Start is the configured start-time: the first epoch's start, ignored once an epoch
	// exists (see InitEpoch).
	Start time.Time
	// Interval is the time between planning rounds (ingest's poll timeout).
	Interval time.Duration
	// LeaderTTL is how long leadership lasts without renewal; the leader renews every third
	// of it, and the others try to take over as often. A dead leader is replaced within about
	// 4/3 of it.
	LeaderTTL time.Duration
	Plan      PlanFunc
	// Logger receives leadership changes and failed rounds; nil discards them.
	Logger *slog.Logger
}

// Planner runs planning rounds in whichever replica is the leader; every replica runs one.
type Planner struct {
	store    *Store
	election *Election
	cfg      PlannerConfig
	log      *slog.Logger
}

// NewPlanner returns a planner of this Store; see PlannerConfig.
func (s *Store) NewPlanner(cfg PlannerConfig) (*Planner, error) {
	switch {
	case cfg.Start.IsZero():
		return nil, fmt.Errorf("%w: planner start time is zero", ErrInvalid)
	case cfg.Interval <= 0:
		return nil, fmt.Errorf("%w: planner interval %v", ErrInvalid, cfg.Interval)
	case cfg.Plan == nil:
		return nil, fmt.Errorf("%w: planner has no PlanFunc", ErrInvalid)
	}
	e, err := s.NewElection(plannerElection, cfg.Owner, cfg.LeaderTTL)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Planner{store: s, election: e, cfg: cfg, log: log.With("owner", cfg.Owner)}, nil
}

// SearchPlan is the PlanFunc of search mode: windows of size from the epoch's start to now.
func (s *Store) SearchPlan(size time.Duration) PlanFunc {
	return func(ctx context.Context, e Epoch) error {
		_, err := s.PlanSearch(ctx, e.Number, size)
		return err
	}
}

// Run campaigns for the leadership and, while this replica leads, runs a planning round every
// Interval: it makes sure the first epoch exists (InitEpoch with Start), then calls Plan with
// the current epoch. It returns nil when ctx ends, after resigning so that another replica
// takes over at once. Redis errors and failed rounds are logged and retried; they never stop
// the planner.
func (p *Planner) Run(ctx context.Context) error {
	for {
		ok, err := p.election.Acquire(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Warn("planner: election failed", "err", err)
		}
		if ok {
			p.lead(ctx)
		}
		if !sleep(ctx, p.cfg.LeaderTTL/3) {
			return nil
		}
	}
}

// lead runs planning rounds until ctx ends or the leadership is lost.
func (p *Planner) lead(ctx context.Context) {
	log := p.log.With("term", p.election.Term())
	log.Info("planner: leading")
	lctx, cancel := context.WithCancel(ctx)
	lost := make(chan error, 1)
	go func() {
		lost <- p.keepLeading(lctx)
		cancel()
	}()
	for {
		p.round(lctx, log)
		if !sleep(lctx, p.cfg.Interval) {
			break
		}
	}
	cancel()
	err := <-lost
	if ctx.Err() != nil {
		// Stopping: hand over at once, with a context of its own since ctx is done.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		if err := p.election.Resign(rctx); err != nil {
			log.Warn("planner: resign failed", "err", err)
		}
		log.Info("planner: stopped leading")
		return
	}
	log.Warn("planner: leadership lost", "err", err)
}

// keepLeading renews the leadership every third of its TTL until ctx ends (nil) or the
// leadership is lost: taken by another, or not renewed within its TTL (an error).
func (p *Planner) keepLeading(ctx context.Context) error {
	every := p.cfg.LeaderTTL / 3
	deadline := time.Now().Add(p.cfg.LeaderTTL)
	for sleep(ctx, every) {
		err := p.election.Renew(ctx)
		switch {
		case err == nil:
			deadline = time.Now().Add(p.cfg.LeaderTTL)
		case errors.Is(err, ErrLeaseLost):
			return err
		case ctx.Err() != nil:
			return nil
		case !time.Now().Before(deadline):
			return fmt.Errorf("%w: leadership not renewed within its TTL: %w", ErrLeaseLost, err)
		}
	}
	return nil
}

// round runs one planning round; failures are logged, and the next round tries again.
func (p *Planner) round(ctx context.Context, log *slog.Logger) {
	epoch, err := p.store.InitEpoch(ctx, p.cfg.Start)
	if err == nil {
		err = p.cfg.Plan(ctx, epoch)
	}
	if err != nil && ctx.Err() == nil {
		log.Warn("planner: planning round failed", "epoch", epoch.Number, "err", err)
	}
}

// sleep waits d and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
