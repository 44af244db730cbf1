package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/clients"
	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/health"
	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/sink/datadog"
	"github.com/auditpipe/auditpipe/pkg/sink/fluentd"
	"github.com/auditpipe/auditpipe/pkg/sink/lock"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

const (
	// flushTimeout bounds sending the last acks and naks before the connection closes.
	flushTimeout = 5 * time.Second
	// lockBatch is the lock sink's batch: it reads only user.login events, and counts a
	// batch in one Redis call.
	lockBatch = 100
)

// deps are the clients and sinks the engine works with. The zero value and a partly built
// one are valid: close closes what was made.
type deps struct {
	nats     *nats.Conn
	js       jetstream.JetStream
	targets  []shipper.Target
	fluentd  *fluentd.Sink
	redis    redis.UniversalClient
	teleport *teleportsrc.Client
}

// connect connects to NATS, makes the Redis client and builds the sinks of shipper.sinks,
// fastest failure first, and registers a readiness check on hs for each dependency: NATS
// (connected), and for the lock sink Redis (answers PING) and Teleport (teleportsrc's check).
// id names the replica in its NATS connection. On error it returns what it made so far, for
// the caller to close.
//
// Redis holds the lock sink's counters and the replicas register. The lock sink needs it: it
// must answer at start, and a bad redis section is an error. Without the lock sink Redis only
// lists the replica for the admin API, so nothing about it stops the shipper: it is not
// PINGed, not a readiness check, and a client that cannot be made (an unreadable password
// file, say) is logged and leaves d.redis nil.
func connect(ctx context.Context, cfg *config.Config, id string, reg prometheus.Registerer, log *slog.Logger, hs *health.Server) (*deps, error) {
	d := &deps{}
	var err error
	if d.nats, err = clients.NATS(cfg.NATS, "auditpipe-shipper "+id, log); err != nil {
		return d, err
	}
	if d.js, err = jetstream.New(d.nats); err != nil {
		return d, fmt.Errorf("nats: JetStream: %w", err)
	}
	hs.AddCheck("nats", clients.NATSConnected(d.nats))

	rdb, err := clients.Redis(cfg.Redis)
	switch {
	case err != nil && cfg.Shipper.HasSink(config.SinkLock):
		return d, err
	case err != nil:
		log.Warn("redis: no client, so this replica is not in the replicas register (the admin API does not list it); shipping goes on",
			"err", err)
	default:
		d.redis = rdb
	}

	for _, name := range cfg.Shipper.Sinks {
		var t shipper.Target
		switch name {
		case config.SinkFluentd:
			if d.fluentd, err = fluentd.New(cfg.Forward.Fluentd, fluentd.WithRegisterer(reg), fluentd.WithLogger(log)); err != nil {
				return d, fmt.Errorf("forward.fluentd: %w", err)
			}
			t = shipper.Target{Sink: d.fluentd, Batch: sinkBatch(cfg, name)}
		case config.SinkDatadog:
			s, err := datadog.New(cfg.Forward.Datadog, datadog.WithRegisterer(reg), datadog.WithLogger(log))
			if err != nil {
				return d, fmt.Errorf("forward.datadog: %w", err)
			}
			t = shipper.Target{Sink: s, Batch: sinkBatch(cfg, name)}
		case config.SinkLock:
			s, err := d.lockSink(ctx, cfg, reg, log, hs)
			if err != nil {
				return d, err
			}
			login := event.Event{Kind: event.Audit, Type: "user.login"}
			t = shipper.Target{Sink: s, Batch: sinkBatch(cfg, name), Subjects: []string{login.Subject()}}
		default: // config.ValidateFor refuses other names
			return d, fmt.Errorf("shipper.sinks: unknown sink %q", name)
		}
		d.targets = append(d.targets, t)
	}
	return d, nil
}

// sinkBatch returns the batch of the sink name (a shipper.sinks name): the most events the
// engine pulls and hands to the sink at once.
func sinkBatch(cfg *config.Config, name string) int {
	switch name {
	case config.SinkFluentd:
		return cfg.Forward.Fluentd.Batch
	case config.SinkDatadog:
		if cfg.Forward.Datadog.Batch == 0 { // the sink's own default
			return datadog.MaxItems
		}
		return cfg.Forward.Datadog.Batch
	case config.SinkLock:
		return lockBatch
	}
	return 0
}

// lockSink builds the lock sink on d.redis (checked with PING) and a Teleport client
// (teleportsrc.New waits until Teleport answers or ctx ends).
func (d *deps) lockSink(ctx context.Context, cfg *config.Config, reg prometheus.Registerer, log *slog.Logger, hs *health.Server) (*lock.Sink, error) {
	lockCfg := lock.ConfigFrom(cfg)
	if err := lockCfg.Validate(); err != nil {
		return nil, err
	}
	rdb := d.redis // connect made it, or failed
	if err := clients.PingRedis(ctx, rdb, cfg.Redis); err != nil {
		return nil, err
	}
	hs.AddCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })

	log.Info("connecting to Teleport for the lock sink", "addr", cfg.Teleport.Addr)
	var err error
	if d.teleport, err = teleportsrc.New(ctx, cfg.Teleport, teleportsrc.WithLogger(log), teleportsrc.WithRegisterer(reg)); err != nil {
		return nil, fmt.Errorf("teleport: %w", err)
	}
	hs.AddCheck("teleport", d.teleport.Ready)
	s, err := lock.New(rdb, d.teleport, lockCfg, lock.WithRegisterer(reg), lock.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("lock sink: %w", err)
	}
	return s, nil
}

// close sends what the connection still buffers (the last naks of a drain), then closes
// every client made. The engine must have returned.
func (d *deps) close() error {
	var errs []error
	if d.fluentd != nil {
		d.fluentd.Close()
	}
	if d.teleport != nil {
		errs = append(errs, d.teleport.Close())
	}
	if d.redis != nil {
		errs = append(errs, d.redis.Close())
	}
	if d.nats != nil {
		if d.nats.IsConnected() {
			if err := d.nats.FlushTimeout(flushTimeout); err != nil {
				errs = append(errs, fmt.Errorf("nats: flush: %w", err))
			}
		}
		d.nats.Close()
	}
	return errors.Join(errs...)
}
