package teleportsim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gravitational/teleport/api/client"
	"github.com/gravitational/trace"
)

// simFrom and simTo bound the logs the Server tests serve: two and a half UTC days, in the past
// so that every recording is uploaded.
var (
	simFrom = time.Date(2025, 1, 26, 0, 0, 0, 0, time.UTC)
	simTo   = time.Date(2025, 1, 28, 12, 0, 0, 0, time.UTC)
)

// simLog returns a Log of count events over [simFrom, simTo) with the given options on top.
func simLog(t testing.TB, count int, o Options) *Log {
	t.Helper()
	o.Seed, o.Count, o.From, o.To = 7, count, simFrom, simTo
	l, err := NewLog(o)
	if err != nil {
		t.Fatalf("NewLog: %v", err)
	}
	return l
}

// startSim starts a Server for cfg (CredentialsDir defaults to a temporary directory) and stops
// it, checking that Run returns nil, when the test ends.
func startSim(t testing.TB, cfg ServerConfig) *Server {
	t.Helper()
	if cfg.CredentialsDir == "" {
		cfg.CredentialsDir = t.TempDir()
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

// identityCreds and keyPairCreds load the Server's credentials the two ways an exporter does.
func identityCreds(s *Server) client.Credentials {
	return client.LoadIdentityFile(s.Credentials().Identity)
}

func keyPairCreds(s *Server) client.Credentials {
	p := s.Credentials()
	return client.LoadKeyPair(p.Cert, p.Key, p.CA)
}

// newSimClient connects Teleport's client to addr as an exporter does (Auth Service address,
// TLS server name teleport.cluster.local chosen by the client itself).
func newSimClient(ctx context.Context, addr string, creds client.Credentials, dialTimeout time.Duration) (*client.Client, error) {
	return client.New(ctx, client.Config{
		Addrs:       []string{addr},
		Credentials: []client.Credentials{creds},
		DialTimeout: dialTimeout,
	})
}

// dialSim connects to s and closes the client when the test ends.
func dialSim(t testing.TB, addr string, creds client.Credentials) *client.Client {
	t.Helper()
	clt, err := newSimClient(context.Background(), addr, creds, 10*time.Second)
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	t.Cleanup(func() { _ = clt.Close() })
	return clt
}

func TestServerConfigValidate(t *testing.T) {
	log := simLog(t, 10, Options{})
	tests := []struct {
		name    string
		given   ServerConfig
		wantErr string
	}{
		{name: "minimal", given: ServerConfig{Log: log, CredentialsDir: "x"}},
		{name: "every field", given: ServerConfig{
			Log: log, CredentialsDir: "x", ListenAddr: "127.0.0.1:0", ClusterName: "c", ServerVersion: "17.0.0",
			User: "u", IdentityTTL: time.Hour, DrainTimeout: time.Second, Faults: Faults{UnavailableRate: 1},
		}},
		{name: "missing log", given: ServerConfig{CredentialsDir: "x"}, wantErr: "missing Log"},
		{name: "missing dir", given: ServerConfig{Log: log}, wantErr: "missing CredentialsDir"},
		{name: "negative ttl", given: ServerConfig{Log: log, CredentialsDir: "x", IdentityTTL: -1}, wantErr: "negative IdentityTTL"},
		{name: "negative drain", given: ServerConfig{Log: log, CredentialsDir: "x", DrainTimeout: -1}, wantErr: "negative DrainTimeout"},
		{name: "bad faults", given: ServerConfig{Log: log, CredentialsDir: "x", Faults: Faults{UnavailableRate: 2}}, wantErr: "outside [0, 1]"},
		{name: "every error at once", given: ServerConfig{IdentityTTL: -1}, wantErr: "missing Log\nmissing CredentialsDir\nnegative IdentityTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.given.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewServerRejectsInvalidConfig(t *testing.T) {
	if _, err := NewServer(ServerConfig{CredentialsDir: t.TempDir()}); err == nil {
		t.Fatal("NewServer without a Log succeeded")
	}
}

func TestPing(t *testing.T) {
	s := startSim(t, ServerConfig{Log: simLog(t, 10, Options{}), ClusterName: "sim.example.com", ServerVersion: "17.2.0"})
	clt := dialSim(t, s.Addr(), identityCreds(s))
	pong, err := clt.Ping(context.Background())
	if err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if pong.ClusterName != "sim.example.com" || pong.ServerVersion != "17.2.0" || pong.RemoteAddr == "" {
		t.Fatalf("Ping = cluster %q version %q remote %q", pong.ClusterName, pong.ServerVersion, pong.RemoteAddr)
	}
	// Everything but Ping, UpsertLock, GetLocks and the audit log answers Unimplemented.
	if _, err := clt.GetDomainName(context.Background()); !trace.IsNotImplemented(err) {
		t.Fatalf("GetDomainName = %v, want NotImplemented", err)
	}
}

// TestServerRejectsClientsWithoutValidCert shows that the Server requires a client certificate
// issued by its CA and still valid.
func TestServerRejectsClientsWithoutValidCert(t *testing.T) {
	log := simLog(t, 10, Options{})
	s := startSim(t, ServerConfig{Log: log})
	other := startSim(t, ServerConfig{Log: log}) // another cluster: another CA
	expiring := startSim(t, ServerConfig{Log: log, IdentityTTL: time.Second})

	caPEM, err := os.ReadFile(s.Credentials().CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)

	// Control: the Server's own identity is accepted.
	if _, err := dialSim(t, s.Addr(), identityCreds(s)).Ping(context.Background()); err != nil {
		t.Fatalf("Ping with a valid identity: %v", err)
	}
	time.Sleep(time.Until(expiryOf(t, expiring.Credentials().Cert).Add(100 * time.Millisecond)))

	tests := []struct {
		name  string
		addr  string
		creds client.Credentials
	}{
		{name: "no client certificate", addr: s.Addr(), creds: client.LoadTLS(&tls.Config{RootCAs: pool})},
		{name: "certificate of another CA", addr: s.Addr(), creds: identityCreds(other)},
		{name: "expired certificate", addr: expiring.Addr(), creds: identityCreds(expiring)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clt, err := newSimClient(context.Background(), tt.addr, tt.creds, 2*time.Second)
			if err == nil {
				_, err = clt.Ping(context.Background())
				_ = clt.Close()
			}
			if err == nil {
				t.Fatal("the Server accepted the client")
			}
			t.Logf("rejected: %v", err)
		})
	}
}

// expiryOf is the NotAfter of the certificate in a PEM file.
func expiryOf(t testing.TB, certFile string) time.Time {
	t.Helper()
	exp, ok := client.LoadKeyPair(certFile, "", "").Expiry()
	if !ok {
		t.Fatalf("no certificate in %s", certFile)
	}
	return exp
}

// TestServerStopsGracefully shows that a cancelled Run lets running calls finish within
// DrainTimeout, cancels those that take longer, and returns nil with the listener closed.
func TestServerStopsGracefully(t *testing.T) {
	tests := []struct {
		name     string
		latency  time.Duration
		drain    time.Duration
		wantCall func(error) bool
	}{
		{name: "call finishes within the drain timeout", latency: 300 * time.Millisecond, drain: 5 * time.Second,
			wantCall: func(err error) bool { return err == nil }},
		{name: "call cancelled after the drain timeout", latency: time.Minute, drain: 200 * time.Millisecond,
			wantCall: func(err error) bool { return err != nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewServer(ServerConfig{
				Log: simLog(t, 10, Options{}), CredentialsDir: t.TempDir(), DrainTimeout: tt.drain,
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			clt := dialSim(t, s.Addr(), identityCreds(s))
			if err := s.SetFaults(Faults{Latency: tt.latency}); err != nil {
				t.Fatal(err)
			}

			var wg sync.WaitGroup
			var callErr error
			wg.Go(func() { _, callErr = clt.Ping(context.Background()) })
			time.Sleep(100 * time.Millisecond) // the call is in the server
			start := time.Now()
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
			if took := time.Since(start); took > tt.drain+2*time.Second {
				t.Fatalf("Run took %v to stop, drain timeout %v", took, tt.drain)
			}
			wg.Wait()
			if !tt.wantCall(callErr) {
				t.Fatalf("call in flight = %v", callErr)
			}
			if _, err := newSimClient(context.Background(), s.Addr(), identityCreds(s), time.Second); err == nil {
				t.Fatal("a new client connected after the stop")
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close after Run: %v", err)
			}
		})
	}
}

func TestCloseWithoutRun(t *testing.T) {
	s, err := NewServer(ServerConfig{Log: simLog(t, 10, Options{}), CredentialsDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatalf("Run after Close = %v, want nil", err)
	}
}
