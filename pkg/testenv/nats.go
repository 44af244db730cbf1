package testenv

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// NATSServer is an embedded nats-server with JetStream, owned by one test.
type NATSServer struct {
	// URL is nats://127.0.0.1:port.
	URL string
	// StoreDir holds the JetStream store; it survives Restart.
	StoreDir string

	t      testing.TB
	opts   server.Options
	server *server.Server
}

// NATSOption adjusts the server's options before it starts (e.g. MaxPayload).
type NATSOption func(*server.Options)

// WithMaxPayload sets the server's max_payload in bytes (1 MB by default).
func WithMaxPayload(n int32) NATSOption {
	return func(o *server.Options) { o.MaxPayload = n }
}

// NATS starts an embedded nats-server (github.com/nats-io/nats-server/v2) with JetStream on a
// free port and a temporary store, and shuts it down at cleanup. It fails the test (or skips
// it outside CI) when the server cannot start.
func NATS(t testing.TB, opts ...NATSOption) *NATSServer {
	t.Helper()
	n := &NATSServer{t: t, StoreDir: t.TempDir()}
	n.opts = server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  n.StoreDir,
		NoLog:     true,
		NoSigs:    true,
	}
	for _, o := range opts {
		o(&n.opts)
	}
	if err := n.start(); err != nil {
		unavailable(t, "embedded nats-server: %v", err)
		return nil
	}
	t.Cleanup(n.Shutdown)
	return n
}

func (n *NATSServer) start() error {
	opts := n.opts // the server keeps a pointer and mutates it
	s, err := server.NewServer(&opts)
	if err != nil {
		return err
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return fmt.Errorf("not ready within 10s")
	}
	n.server = s
	n.URL = s.ClientURL()
	// Keep the port for a Restart, so clients reconnect to the same URL.
	if addr, ok := s.Addr().(*net.TCPAddr); ok {
		n.opts.Port = addr.Port
	}
	return nil
}

// Conn connects a client to the server, closed at the test's cleanup.
func (n *NATSServer) Conn(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(n.URL, nats.Name(t.Name()))
	if err != nil {
		t.Fatalf("testenv: connect to %s: %v", n.URL, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// Shutdown stops the server and waits for it; it is idempotent.
func (n *NATSServer) Shutdown() {
	if n.server == nil {
		return
	}
	n.server.Shutdown()
	n.server.WaitForShutdown()
	n.server = nil
}

// Restart stops the server and starts it again on the same port and store, as a crash and
// restart of the NATS node would; JetStream data persists.
func (n *NATSServer) Restart() {
	n.t.Helper()
	n.Shutdown()
	if err := n.start(); err != nil {
		n.t.Fatalf("testenv: restart nats-server: %v", err)
	}
}
