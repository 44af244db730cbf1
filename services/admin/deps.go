package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/clients"
	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/health"
	"github.com/auditpipe/auditpipe/pkg/replicas"
)

// deps are the clients the API works with. The zero value and a partly built one are valid:
// close closes what was made.
type deps struct {
	redis    redis.UniversalClient
	nats     *nats.Conn
	js       jetstream.JetStream
	registry *replicas.Registry
}

// connect makes the clients, fastest failure first, and registers a readiness check on hs for
// each: Redis (answers PING at start) and NATS (connected). On error it returns what it made
// so far, for the caller to close.
func connect(ctx context.Context, cfg *config.Config, id string, logger *slog.Logger, hs *health.Server) (*deps, error) {
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
	d.registry = replicas.New(rdb, cfg.Redis.KeyPrefix)

	if d.nats, err = clients.NATS(cfg.NATS, "auditpipe-admin "+id, logger); err != nil {
		return d, err
	}
	if d.js, err = jetstream.New(d.nats); err != nil {
		return d, fmt.Errorf("nats: JetStream: %w", err)
	}
	hs.AddCheck("nats", clients.NATSConnected(d.nats))
	return d, nil
}

// close closes every client made. The API server must have stopped.
func (d *deps) close() error {
	var errs []error
	if d.nats != nil {
		d.nats.Close()
	}
	if d.redis != nil {
		errs = append(errs, d.redis.Close())
	}
	return errors.Join(errs...)
}
