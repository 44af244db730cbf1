// Command teleport-sim runs a simulated Teleport Auth Service: a generated audit log with its
// session recordings, served over mutual TLS through teleport/api's real gRPC services, with
// switchable faults. It writes the client credentials (an identity file and a TLS key pair),
// optionally the manifest of every event, and a ready file once it serves; it stops gracefully
// on SIGTERM or SIGINT.
//
//	teleport-sim --listen 127.0.0.1:3025 --out ./creds --count 100000 --manifest manifest.jsonl
//
// Run `teleport-sim --help` for every flag.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"golang.org/x/sync/errgroup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "teleport-sim:", err)
		os.Exit(1)
	}
}

// run is the whole program: parse the flags, build the Log and the Server, serve until ctx
// ends. It writes the startup summary to stdout and logs and usage to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))

	log, err := teleportsim.NewLog(cfg.log)
	if err != nil {
		return fmt.Errorf("generate log: %w", err)
	}
	if cfg.manifest != "" {
		if err := writeManifest(log, cfg.manifest); err != nil {
			return err
		}
	}
	cfg.server.Log = log
	cfg.server.Logger = logger
	srv, err := teleportsim.NewServer(cfg.server)
	if err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	ready := readyInfo{
		Addr:            srv.Addr(),
		ClusterName:     cfg.server.ClusterName,
		CredentialPaths: srv.Credentials(),
		Manifest:        cfg.manifest,
	}

	// runCtx ends the group on the caller's stop or on a failure below.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error { return srv.Run(gctx) })
	if cfg.liveRate > 0 {
		g.Go(func() error { return log.RunLive(gctx, cfg.liveRate) })
	}
	if cfg.identityRenew > 0 {
		g.Go(func() error { return renewIdentity(gctx, srv, cfg.identityRenew, logger) })
	}

	if err := printSummary(stdout, ready, log.Len()); err != nil {
		cancel()
		return errors.Join(err, g.Wait())
	}
	if cfg.readyFile != "" {
		if err := writeJSONAtomic(cfg.readyFile, ready); err != nil {
			cancel()
			return errors.Join(fmt.Errorf("ready file: %w", err), g.Wait())
		}
	}
	logger.Info("serving", "addr", ready.Addr, "events", log.Len())

	err = g.Wait()
	if cfg.manifest != "" && cfg.liveRate > 0 {
		// Live events were added while serving: bring the manifest up to date.
		err = errors.Join(err, writeManifest(log, cfg.manifest))
	}
	if err == nil {
		logger.Info("stopped")
	}
	return err
}

// readyInfo is the JSON of the ready file: {"addr", "cluster_name", "identity", "cert", "key",
// "ca", "manifest"}.
type readyInfo struct {
	Addr        string `json:"addr"`
	ClusterName string `json:"cluster_name"`
	teleportsim.CredentialPaths
	Manifest string `json:"manifest,omitempty"`
}

func printSummary(w io.Writer, r readyInfo, events int) error {
	_, err := fmt.Fprintf(w, "teleport-sim serving %d events of cluster %s on %s\n"+
		"identity file: %s\nTLS cert:      %s\nTLS key:       %s\nTLS CAs:       %s\n",
		events, r.ClusterName, r.Addr,
		r.Identity, r.Cert, r.Key, r.CA)
	if err == nil && r.Manifest != "" {
		_, err = fmt.Fprintf(w, "manifest:      %s\n", r.Manifest)
	}
	if err != nil {
		return fmt.Errorf("print summary: %w", err)
	}
	return nil
}

// renewIdentity reissues the client identity every interval, as tbot renews its output.
func renewIdentity(ctx context.Context, srv *teleportsim.Server, every time.Duration, logger *slog.Logger) error {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if err := srv.ReissueIdentity(0); err != nil {
				return fmt.Errorf("renew identity: %w", err)
			}
			logger.Info("identity renewed", "path", srv.Credentials().Identity)
		}
	}
}

// writeManifest replaces path with the Log's manifest (one JSON ManifestEntry per line).
func writeManifest(log *teleportsim.Log, path string) error {
	err := writeFileAtomic(path, func(w io.Writer) error { return log.WriteManifest(w) })
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}

func writeJSONAtomic(path string, v any) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// writeFileAtomic writes path, creating its directory if need be, through a temporary file in
// the same directory and a rename, so a reader polling for path never sees it partly written.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	// The manifest and the ready file may go inside --out, which the server creates only
	// after the manifest is written.
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
