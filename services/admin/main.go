// Command auditpipe-admin serves auditpipe's admin REST API: where export stands, replays,
// start-time resets, pausing ingest and the dead letters, over the Redis and JetStream state
// that ingest and shipper share. The API is package admin; this command only wires it:
// configuration → Redis and NATS clients → the API server, the health server and the
// replica's beats, until a signal.
//
//	auditpipe-admin --config /etc/auditpipe/auditpipe.toml
//
// The API is on admin.listen (TLS with admin.tls); /healthz, /readyz and /metrics are also on
// metrics.listen, as for every auditpipe service. It stops gracefully on SIGTERM or SIGINT:
// requests in flight finish, the replica leaves the register, and it exits 0. auditpipectl is
// its client; docs/auditpipectl.md describes both.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

	"golang.org/x/sync/errgroup"

	"github.com/auditpipe/auditpipe/pkg/admin"
	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/service"
)

// program names the command in its usage, --version and errors.
const program = "auditpipe-admin"

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
		config.ServiceAdmin, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(cfg.Log.Handler(stderr))
	if cfg.Admin.InsecureNoAuth {
		logger.Warn("!!! INSECURE: the admin API may serve WITHOUT AUTHENTICATION (admin.insecure-no-auth / " +
			"--insecure-dev-no-auth): anyone who reaches " + cfg.Admin.Listen + " can pause ingest, reset the " +
			"start time and delete dead letters. For development only !!!")
	}
	id := service.ReplicaID(env, "admin")
	logger.Info("auditpipe-admin starting", "version", version, "id", id, "config", cfg)
	return serve(ctx, cfg, id, logger)
}

// serve runs the replica: the health server, the clients, the API server and the beats into
// the replicas register, until ctx ends (then it drains) or one of them fails. The health
// server outlives the API, so /metrics stays up while it drains; /readyz fails from the stop on.
func serve(ctx context.Context, cfg *config.Config, id string, logger *slog.Logger) error {
	h, err := service.ListenHealth(cfg.Metrics, logger)
	if err != nil {
		return err
	}
	reg, hs := h.Registry, h.Server

	// gctx ends on ctx or when a job fails; svcCtx, for the health server, once the API has
	// drained.
	g, gctx := errgroup.WithContext(ctx)
	svcCtx, stopSvc := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSvc()
	hs.AddCheck("admin", func(context.Context) error {
		if gctx.Err() != nil {
			return errors.New("stopping")
		}
		return nil
	})
	g.Go(func() error { return h.Serve(svcCtx) })

	d, err := connect(gctx, cfg, id, logger, hs)
	var (
		srv *admin.Server
		lis net.Listener
	)
	if err == nil {
		srv, err = admin.New(cfg, admin.Deps{
			Redis:      d.redis,
			JetStream:  d.js,
			Registry:   d.registry,
			Registerer: reg,
			Gatherer:   reg,
			Logger:     logger,
		})
	}
	if err == nil {
		if lis, err = net.Listen("tcp", cfg.Admin.Listen); err != nil {
			err = fmt.Errorf("admin.listen: %w", err)
		}
	}
	if err != nil {
		stopSvc()
		if srv != nil {
			err = errors.Join(err, srv.Close())
		}
		err = errors.Join(err, g.Wait(), d.close())
		if ctx.Err() != nil {
			logger.Info("auditpipe-admin stopped before it started", "cause", context.Cause(ctx))
			return nil
		}
		return err
	}
	scheme := "http"
	if cfg.Admin.TLS.Cert != "" {
		scheme = "https"
	}
	logger.Info("serving the admin API", "addr", lis.Addr().String(), "scheme", scheme,
		"tokens", cfg.Admin.TokensFile != "", "client_certificates", cfg.Admin.TLS.ClientCA != "")

	g.Go(func() error {
		defer stopSvc()
		return srv.Serve(gctx, lis)
	})
	g.Go(func() error {
		status := func() any { return member{Listen: lis.Addr().String(), Scheme: scheme} }
		return d.registry.RunLogged(gctx, replicas.Replica{Service: replicas.ServiceAdmin, ID: id, Version: version},
			0, status, logger)
	})
	err = errors.Join(g.Wait(), srv.Close(), d.close())
	if err != nil {
		return err
	}
	logger.Info("auditpipe-admin stopped")
	return nil
}

// member is the Status this replica reports in its beats.
type member struct {
	Listen string `json:"listen"`
	Scheme string `json:"scheme"`
}
