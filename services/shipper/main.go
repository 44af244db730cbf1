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
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/health"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/shipper"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// version is the release, set at build time with -ldflags "-X main.version=…".
var version = "dev"

// healthDrain bounds the shutdown of the health server.
const healthDrain = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "auditpipe-shipper:", err)
		os.Exit(1)
	}
}

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
		_, err := fmt.Fprintf(stdout, "auditpipe-shipper %s (%s)\n", version, runtime.Version())
		return err
	}
	cfg, err := loadConfig(opts, env, stderr)
	if err != nil {
		return err
	}
	log := slog.New(cfg.Log.Handler(stderr))
	engCfg := shipper.FromConfig(cfg)
	if err := engCfg.Validate(); err != nil {
		return err
	}
	id := replicaID(env)
	if strings.ContainsAny(id, "{}") {
		return fmt.Errorf("%s %q: want a replica id without { or }", envOwner, id)
	}
	log.Info("auditpipe-shipper starting", "version", version, "id", id, "sinks", cfg.Shipper.Sinks, "config", cfg)

	reg := prometheus.NewRegistry()
	if err := errors.Join(
		reg.Register(collectors.NewGoCollector()),
		reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})),
	); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	hs := health.NewServer(reg)
	var lis net.Listener
	if cfg.Metrics.Listen != "" {
		if lis, err = net.Listen("tcp", cfg.Metrics.Listen); err != nil {
			return fmt.Errorf("metrics.listen: %w", err)
		}
		log.Info("serving /healthz, /readyz and /metrics", "addr", lis.Addr().String())
	}

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
	if lis != nil {
		g.Go(func() error { return hs.Serve(svcCtx, lis, healthDrain) })
	}

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
			return beat(svcCtx, register, rep, func() any { return shipperMember(eng.Status()) }, log)
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

// loadConfig loads the configuration from the file, env and the flags, logs Load's warnings
// (with the log settings it loaded, or the defaults when it failed) and validates it for the
// shipper service. Its errors list every problem, each naming its key.
func loadConfig(opts options, env []string, stderr io.Writer) (*config.Config, error) {
	cfg, warnings, err := config.Load(config.Sources{File: opts.configFile, Env: env, Flags: opts.settings, AllowEnv: []string{envOwner}})
	logCfg := config.Default().Log
	if cfg != nil {
		logCfg = cfg.Log
	}
	log := slog.New(logCfg.Handler(stderr))
	for _, w := range warnings {
		log.Warn("configuration", "source", w.Source, "key", w.Key, "warning", w.Message)
	}
	if err != nil {
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	if err := cfg.ValidateFor(config.ServiceShipper); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
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
