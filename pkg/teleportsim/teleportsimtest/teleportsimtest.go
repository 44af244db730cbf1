// Package teleportsimtest runs the Teleport simulator (teleportsim.Server) for the length of
// a test, as testenv runs Redis and NATS.
package teleportsimtest

import (
	"context"
	"testing"

	"github.com/auditpipe/auditpipe/pkg/teleportsim"
)

// Start serves cfg.Log over gRPC and mutual TLS, as a Teleport Auth Service, until the test
// ends; the credentials to reach it are srv.Credentials(), written to cfg.CredentialsDir
// (t.TempDir() when empty). A server that cannot be made fails the test (t.Fatalf); at
// cleanup the server stops, and an error of its Run fails the test (t.Errorf).
func Start(t testing.TB, cfg teleportsim.ServerConfig) *teleportsim.Server {
	t.Helper()
	if cfg.CredentialsDir == "" {
		cfg.CredentialsDir = t.TempDir()
	}
	srv, err := teleportsim.NewServer(cfg)
	if err != nil {
		t.Fatalf("teleportsim.NewServer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simulator Run: %v", err)
		}
	})
	return srv
}
