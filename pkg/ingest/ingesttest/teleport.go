package ingesttest

import (
	"context"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// TeleportClient connects the production Teleport client (teleportsrc) to the simulator srv
// with its identity, as a replica's Source, logging to the test as name (Logger). It fails the
// test (t.Fatalf) when it cannot connect within 30 s; the client is closed at the test's end.
func TeleportClient(t testing.TB, srv *teleportsim.Server, name string) *teleportsrc.Client {
	t.Helper()
	dial, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := teleportsrc.New(dial, config.Teleport{Addr: srv.Addr(), Identity: srv.Credentials().Identity},
		teleportsrc.WithLogger(Logger(t, name)))
	if err != nil {
		t.Fatalf("teleportsrc.New: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}
