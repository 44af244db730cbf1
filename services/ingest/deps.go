package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/clients"
	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/health"
	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// deps are the clients the engine works with. The zero value and a partly built one are
// valid: close closes what was made.
type deps struct {
	redis    redis.UniversalClient
	nats     *nats.Conn // nil in dry-run
	js       jetstream.JetStream
	teleport *teleportsrc.Client
}

// connect makes the clients the engine configured by eng needs, fastest failure first, and
// registers a readiness check on hs for each: Redis (answers PING at start), NATS (connected;
// skipped in dry-run, which publishes nothing) and Teleport (waits until Teleport answers or
// ctx ends; teleportsrc.New). On error it returns what it made so far, for the caller to close.
func connect(ctx context.Context, cfg *config.Config, eng ingest.Config, reg prometheus.Registerer, logger *slog.Logger, hs *health.Server) (*deps, error) {
	d := &deps{}
	rdb, err := clients.Redis(cfg.Redis)
	if err != nil {
		return d, err
	}
	d.redis = rdb
	if err := clients.PingRedis(ctx, rdb, cfg.Redis); err != nil {
		return d, err
	}
	hs.AddCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })

	if !eng.DryRun {
		if d.nats, err = clients.NATS(cfg.NATS, "auditpipe-ingest "+eng.Owner, logger); err != nil {
			return d, err
		}
		// The engine keeps at most its MaxPending messages unacknowledged; the client's own
		// bound must not be lower.
		d.js, err = jetstream.New(d.nats, jetstream.WithPublishAsyncMaxPending(eng.MaxPending))
		if err != nil {
			return d, fmt.Errorf("nats: JetStream: %w", err)
		}
		hs.AddCheck("nats", clients.NATSConnected(d.nats))
	}

	logger.Info("connecting to Teleport", "addr", cfg.Teleport.Addr)
	if d.teleport, err = teleportsrc.New(ctx, cfg.Teleport, teleportsrc.WithLogger(logger), teleportsrc.WithRegisterer(reg)); err != nil {
		return d, err // "teleportsrc: …", naming the file or the call that failed
	}
	hs.AddCheck("teleport", d.teleport.Ready)
	return d, nil
}

// close closes every client made, Teleport first. The engine must have returned.
func (d *deps) close() error {
	var errs []error
	if d.teleport != nil {
		errs = append(errs, d.teleport.Close())
	}
	if d.nats != nil {
		d.nats.Close()
	}
	if d.redis != nil {
		errs = append(errs, d.redis.Close())
	}
	return errors.Join(errs...)
}
