// Command auditpipe-shipper forwards the events of the JetStream stream (TELEPORT_EVENTS by
// default) to the sinks of shipper.sinks: Fluentd, Datadog and Teleport locks. Each sink has a
// durable consumer, sink-<name>, shared by every replica, so that adding replicas adds
// throughput; an event is acknowledged only after its sink accepted it. The engine is package
// shipper; this command only wires it: configuration → NATS, the sinks and their clients →
// the engine and the health server, until a signal. With dry-run it ships nothing: it serves
// the health endpoints until a signal.
//
//	auditpipe-shipper --config /etc/auditpipe/auditpipe.toml --sinks fluentd,datadog
//
// It serves /healthz, /readyz and /metrics on metrics.listen, beats into the replicas register
// in Redis (pkg/replicas: its id, AUDITPIPE_OWNER or "<hostname>-<pid>", and an
// adminapi.ShipperMember status, every 5 s) so that the admin API lists it — a Redis that
// does not answer only logs a warning, unless the lock sink needs it — reloads the lock sink's
// Teleport identity file on SIGHUP (with teleport.refresh.enabled), and stops gracefully on
// SIGTERM or SIGINT: no more pulls, the batches in hand finished or handed back, the register
// left, and it exits 0. Run `auditpipe-shipper --help` for the flags; docs/operations.md
// describes operating it.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/sync/errgroup"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/service"
	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// program names the command in its usage, --version and errors.
const program = "auditpipe-shipper"

// version is the release, set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { service.Main(program, run) }

// run is the whole program. args are the command-line arguments without the program name, env
// the environment as os.Environ gives it. It returns nil after a graceful stop (ctx ended),
// flag.ErrHelp after --help, otherwise the error that stopped it. The usage goes to stderr,
// --version to stdout, logs to stderr.
func run(ctx context.Context, args, env []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if opts.version {
		return service.PrintVersion(stdout, program, version)
	}
	cfg, err := service.LoadConfig(config.Sources{File: opts.configFile, Env: env, Flags: opts.settings},
		config.ServiceShipper, stderr)
	if err != nil {
		return err
	}
	log := slog.New(cfg.Log.Handler(stderr))
	engCfg := shipper.FromConfig(cfg)
	if err := engCfg.Validate(); err != nil {
		return err
	}
	id := service.ReplicaID(env, "shipper")
	if strings.ContainsAny(id, "{}") {
		return fmt.Errorf("%s %q: want a replica id without { or }", service.EnvOwner, id)
	}
	log.Info("auditpipe-shipper starting", "version", version, "id", id, "sinks", cfg.Shipper.Sinks, "config", cfg)
	warnInFlight(cfg, log)

	h, err := service.ListenHealth(cfg.Metrics, log)
	if err != nil {
		return err
	}
	reg, hs := h.Registry, h.Server

	// SIGHUP reloads the lock sink's Teleport credentials. Caught from the start: its default
	// action would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// gctx ends on ctx (a stop signal) or when a job fails. The health server runs until the
	// engine is done, so /metrics stays up while it drains; /readyz fails from the stop on.
	g, gctx := errgroup.WithContext(ctx)
	svcCtx, stopSvc := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSvc()
	g.Go(func() error { return h.Serve(svcCtx) })

	if cfg.DryRun {
		log.Warn("dry-run: the shipper reads no event and sends none; it waits for a stop signal")
		<-ctx.Done()
		stopSvc()
		return g.Wait()
	}

	d, err := connect(gctx, cfg, id, reg, log, hs)
	var eng *shipper.Engine
	if err == nil {
		eng, err = shipper.New(engCfg, d.targets, shipper.Deps{JetStream: d.js, Registerer: reg, Logger: log})
	}
	if err != nil {
		stopSvc()
		err = errors.Join(err, g.Wait(), d.close())
		if ctx.Err() != nil {
			log.Info("auditpipe-shipper stopped before it started", "cause", context.Cause(ctx))
			return nil
		}
		return err
	}
	for _, name := range cfg.Shipper.Sinks {
		hs.AddCheck("sink-"+name, func(context.Context) error {
			if gctx.Err() != nil {
				return errors.New("stopping")
			}
			return eng.Ready(name)
		})
	}
	g.Go(func() error {
		defer stopSvc()
		return eng.Run(gctx)
	})
	if d.redis != nil {
		// The beats go on while the engine drains and stop with it, leaving the register.
		register := replicas.New(d.redis, cmp.Or(cfg.Redis.KeyPrefix, window.DefaultConfig().KeyPrefix))
		g.Go(func() error {
			rep := replicas.Replica{Service: replicas.ServiceShipper, ID: id, Version: version}
			return register.RunLogged(svcCtx, rep, beatInterval, func() any { return shipper.Member(eng.Status()) }, log)
		})
	}
	if d.teleport != nil {
		g.Go(func() error {
			reloadOnHangup(svcCtx, hup, d.teleport, log)
			return nil
		})
	}
	err = errors.Join(g.Wait(), d.close())
	if err != nil {
		return err
	}
	for _, s := range eng.Status() {
		log.Info("auditpipe-shipper stopped", "sink", s.Sink, "delivered", s.Delivered, "dead_lettered", s.DeadLettered)
	}
	return nil
}

// reloadOnHangup reloads the lock sink's Teleport identity file on every SIGHUP until ctx
// ends. A failed reload keeps the current certificate, as teleportsrc does.
func reloadOnHangup(ctx context.Context, hup <-chan os.Signal, tc *teleportsrc.Client, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		switch err := tc.Reload(); {
		case err == nil:
			log.Info("SIGHUP: reloaded the Teleport credentials", "cert_expiry", tc.CertExpiry())
		case errors.Is(err, teleportsrc.ErrReloadDisabled):
			log.Warn("SIGHUP: no credentials to reload; reloading needs teleport.identity with teleport.refresh.enabled = true")
		default:
			log.Error("SIGHUP: reloading the Teleport credentials failed; keeping the current certificate", "err", err)
		}
	}
}
