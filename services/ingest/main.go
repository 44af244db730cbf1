// Command auditpipe-ingest reads a Teleport cluster's audit log and session recordings into the
// JetStream stream (TELEPORT_EVENTS by default). Any number of replicas share the work through
// leases in Redis; the engine is package ingest, and this command only wires it:
// configuration → Teleport, Redis and NATS clients → the engine and the health server, until
// a signal.
//
//	auditpipe-ingest --config /etc/auditpipe/auditpipe.toml
//
// It serves /healthz, /readyz and /metrics on metrics.listen, beats into the replicas
// register in Redis (pkg/replicas: its owner id and an adminapi.IngestMember status, every 5 s)
// so that the admin API lists it, reloads the Teleport identity file on SIGHUP (with
// teleport.refresh.enabled), and stops gracefully on SIGTERM or SIGINT: the pages in hand
// are published and committed, the leases released, the register left, and it exits 0. Run
// `auditpipe-ingest --help` for the flags; docs/operations.md describes operating it.
package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"golang.org/x/sync/errgroup"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/service"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// program names the command in its usage, --version and errors.
const program = "auditpipe-ingest"

// version is the release, set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { service.Main(program, run) }

// run is the whole program. args are the command-line arguments without the program name, env
// the environment as os.Environ gives it. It returns nil after a graceful stop (ctx ended) or,
// with exit-on-last-event, once the log up to the start is exported; flag.ErrHelp after
// --help; otherwise the error that stopped it. The usage goes to stderr, --version to stdout,
// logs to stderr.
func run(ctx context.Context, args, env []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, env, stderr)
	if err != nil {
		return err
	}
	if opts.version {
		return service.PrintVersion(stdout, program, version)
	}
	cfg, err := service.LoadConfig(config.Sources{File: opts.configFile, Env: env, Flags: opts.settings},
		config.ServiceIngest, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(cfg.Log.Handler(stderr))
	engCfg := ingest.FromConfig(cfg, opts.owner)
	if err := engCfg.Validate(); err != nil {
		return err
	}
	logger.Info("auditpipe-ingest starting", "version", version, "owner", opts.owner, "config", cfg)
	return serve(ctx, cfg, engCfg, logger)
}

// serve runs the replica configured by cfg and eng: the health server, the clients, the engine
// and the SIGHUP reloads, until ctx ends (then it drains), the engine returns, or one of them
// fails. The health server outlives the engine, so /metrics stays up while it drains; /readyz
// fails from the stop on.
func serve(ctx context.Context, cfg *config.Config, eng ingest.Config, logger *slog.Logger) error {
	h, err := service.ListenHealth(cfg.Metrics, logger)
	if err != nil {
		return err
	}
	reg, hs := h.Registry, h.Server

	// SIGHUP reloads the Teleport credentials. Caught from the start: its default action
	// would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// gctx ends on ctx or when a job fails; svcCtx, for the health server and the reloads,
	// when the engine has returned.
	g, gctx := errgroup.WithContext(ctx)
	svcCtx, stopSvc := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSvc()
	var engine atomic.Pointer[ingest.Engine]
	hs.AddCheck("ingest", func(context.Context) error {
		switch e := engine.Load(); {
		case gctx.Err() != nil:
			return errors.New("stopping")
		case e == nil || !e.Status().Running:
			return errors.New("not running")
		}
		return nil
	})
	g.Go(func() error { return h.Serve(svcCtx) })

	d, err := connect(gctx, cfg, eng, reg, logger, hs)
	if err != nil {
		stopSvc()
		err = errors.Join(err, g.Wait(), d.close())
		if ctx.Err() != nil {
			logger.Info("auditpipe-ingest stopped before it started", "cause", context.Cause(ctx))
			return nil
		}
		return err
	}
	e, err := ingest.New(eng, ingest.Deps{
		Source:     d.teleport,
		Redis:      d.redis,
		JetStream:  d.js,
		Registerer: reg,
		Logger:     logger,
	})
	if err != nil {
		stopSvc()
		return errors.Join(err, g.Wait(), d.close())
	}
	engine.Store(e)
	g.Go(func() error {
		defer stopSvc()
		err := e.Run(gctx)
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return nil // stopped at start, before Run had anything to drain
		}
		return err
	})
	// The beats go on while the engine drains and stop with it, leaving the register.
	register := replicas.New(d.redis, eng.Window.KeyPrefix)
	g.Go(func() error {
		rep := replicas.Replica{Service: replicas.ServiceIngest, ID: eng.Owner, Version: version}
		return register.RunLogged(svcCtx, rep, beatInterval, func() any { return e.Status().Member() }, logger)
	})
	g.Go(func() error {
		reloadOnHangup(svcCtx, hup, d.teleport, logger)
		return nil
	})
	if err := errors.Join(g.Wait(), d.close()); err != nil {
		return err
	}
	logger.Info("auditpipe-ingest stopped", "events", e.Status().Events)
	return nil
}

// reloadOnHangup reloads the Teleport identity file on every SIGHUP until ctx ends. A failed
// reload keeps the current certificate, as teleportsrc does.
func reloadOnHangup(ctx context.Context, hup <-chan os.Signal, tc *teleportsrc.Client, logger *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		switch err := tc.Reload(); {
		case err == nil:
			logger.Info("SIGHUP: reloaded the Teleport credentials", "cert_expiry", tc.CertExpiry())
		case errors.Is(err, teleportsrc.ErrReloadDisabled):
			logger.Warn("SIGHUP: no credentials to reload; reloading needs teleport.identity with teleport.refresh.enabled = true")
		default:
			logger.Error("SIGHUP: reloading the Teleport credentials failed; keeping the current certificate", "err", err)
		}
	}
}
