package teleportsrc_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gravitational/teleport/api/client"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
	"github.com/auditpipe/auditpipe/pkg/testenv"
)

// certExpiry is the NotAfter of the certificate in a PEM file.
func certExpiry(t testing.TB, certFile string) time.Time {
	t.Helper()
	exp, ok := client.LoadKeyPair(certFile, "", "").Expiry()
	if !ok {
		t.Fatalf("no certificate in %s", certFile)
	}
	return exp
}

// TestCredentialsReadEvents connects with each kind of credentials and reads a page.
func TestCredentialsReadEvents(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 100, teleportsim.Options{})})
	tests := []struct {
		name  string
		given config.Teleport
	}{
		{name: "identity file", given: identityConfig(s, false)},
		{name: "reloaded identity file", given: identityConfig(s, true)},
		{name: "key pair", given: keyPairConfig(s)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			c := newClient(t, tt.given, teleportsrc.WithRegisterer(reg))
			page, _, err := c.Search(context.Background(), simFrom, simTo, nil, 10, "")
			if err != nil || len(page) != 10 {
				t.Fatalf("Search = %d events, %v", len(page), err)
			}
			want := certExpiry(t, s.Credentials().Cert)
			if !c.CertExpiry().Equal(want) {
				t.Fatalf("CertExpiry = %v, want %v", c.CertExpiry(), want)
			}
			if got := metric(t, reg, "auditpipe_teleport_cert_expiry_timestamp_seconds"); got != float64(want.Unix()) {
				t.Fatalf("cert expiry gauge = %v, want %v", got, want.Unix())
			}
			if got := metric(t, reg, "auditpipe_teleport_connected"); got != 1 {
				t.Fatalf("connected = %v, want 1", got)
			}
			if err := c.Ready(context.Background()); err != nil {
				t.Fatalf("Ready = %v", err)
			}
		})
	}
}

// TestNewRejects fails fast, without retrying, on what no retry can fix.
func TestNewRejects(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{})})
	missing := identityConfig(s, false)
	missing.Identity = t.TempDir() + "/missing"
	both := identityConfig(s, false)
	both.Cert = s.Credentials().Cert
	garbage := keyPairConfig(s)
	garbage.CA = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(garbage.CA, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		given   config.Teleport
		wantErr error
	}{
		{name: "no address", given: config.Teleport{Identity: s.Credentials().Identity}, wantErr: teleportsrc.ErrInvalidArgument},
		{name: "no credentials", given: config.Teleport{Addr: s.Addr()}, wantErr: teleportsrc.ErrInvalidArgument},
		{name: "identity and key pair", given: both, wantErr: teleportsrc.ErrInvalidArgument},
		{name: "missing identity file", given: missing, wantErr: teleportsrc.ErrCredentials},
		{name: "bad CA file", given: garbage, wantErr: teleportsrc.ErrCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := teleportsrc.New(ctx, tt.given)
			if !errors.Is(err, tt.wantErr) || teleportsrc.Classify(err) != teleportsrc.Fatal {
				t.Fatalf("New = %v, want %v (Fatal)", err, tt.wantErr)
			}
		})
	}
}

// TestFaultsAreClassified shows how Teleport's failures reach the ingest engine when the
// Client does not retry: as the Action Classify names, counted by gRPC code.
func TestFaultsAreClassified(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 100, teleportsim.Options{})})
	reg := prometheus.NewRegistry()
	c := newClient(t, identityConfig(s, false), teleportsrc.WithRegisterer(reg), teleportsrc.WithRetryTimeout(0))
	ctx := context.Background()
	search := func() error {
		_, _, err := c.Search(ctx, simFrom, simTo, nil, 10, "")
		return err
	}
	tests := []struct {
		name     string
		faults   teleportsim.Faults
		call     func() error
		want     teleportsrc.Action
		wantCode string
		method   string
	}{
		{name: "unavailable", faults: teleportsim.Faults{UnavailableNext: 1}, call: search,
			want: teleportsrc.Retry, wantCode: "Unavailable", method: "search"},
		{name: "rate limited", faults: teleportsim.Faults{ResourceExhaustedNext: 1}, call: search,
			want: teleportsrc.Retry, wantCode: "ResourceExhausted", method: "search"},
		{name: "stream cut", faults: teleportsim.Faults{StreamCutAfter: 1},
			call: func() error {
				return c.ExportChunk(ctx, simFrom, mustChunk(t, c), "", func(event.Event, string) error { return nil })
			},
			want: teleportsrc.Retry, wantCode: "Unavailable", method: "export_events"},
		{name: "unknown chunk", call: func() error {
			return c.ExportChunk(ctx, simFrom, "no-such-chunk", "", func(event.Event, string) error { return nil })
		}, want: teleportsrc.NotFound, wantCode: "NotFound", method: "export_events"},
		{name: "recording not found", call: func() error {
			return c.SessionEvents(ctx, "no-such-session", 0, func(event.Event) error { return nil })
		}, want: teleportsrc.NotFound, wantCode: "NotFound", method: "session_events"},
		{name: "no export API", faults: teleportsim.Faults{ExportNotImplemented: true}, call: func() error {
			_, err := c.ExportChunks(ctx, simFrom)
			return err
		}, want: teleportsrc.NotImplemented, wantCode: "Unimplemented", method: "export_chunks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := metric(t, reg, "auditpipe_teleport_errors_total", "method", tt.method, "code", tt.wantCode)
			if err := s.SetFaults(tt.faults); err != nil {
				t.Fatal(err)
			}
			err := tt.call()
			_ = s.SetFaults(teleportsim.Faults{})
			if got := teleportsrc.Classify(err); got != tt.want || teleportsrc.Code(err).String() != tt.wantCode {
				t.Fatalf("error %v: classified %v, code %v; want %v, %s", err, got, teleportsrc.Code(err), tt.want, tt.wantCode)
			}
			if got := metric(t, reg, "auditpipe_teleport_errors_total", "method", tt.method, "code", tt.wantCode); got != before+1 {
				t.Fatalf("errors_total{%s,%s} = %v, want %v", tt.method, tt.wantCode, got, before+1)
			}
		})
	}
}

// mustChunk returns the first export chunk of simFrom.
func mustChunk(t testing.TB, c *teleportsrc.Client) string {
	t.Helper()
	chunks, err := c.ExportChunks(context.Background(), simFrom)
	if err != nil || len(chunks) == 0 {
		t.Fatalf("ExportChunks = %v, %v", chunks, err)
	}
	return chunks[0]
}

// TestTransientFaultsAreRetried: by default the Client retries transient failures with
// backoff, logging and counting each.
func TestTransientFaultsAreRetried(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 100, teleportsim.Options{})})
	reg := prometheus.NewRegistry()
	log, logs := newLogger()
	c := newClient(t, identityConfig(s, false), teleportsrc.WithRegisterer(reg), teleportsrc.WithLogger(log))
	if err := s.SetFaults(teleportsim.Faults{UnavailableNext: 2, ResourceExhaustedNext: 1}); err != nil {
		t.Fatal(err)
	}
	page, _, err := c.Search(context.Background(), simFrom, simTo, nil, 10, "")
	if err != nil || len(page) != 10 {
		t.Fatalf("Search = %d events, %v", len(page), err)
	}
	if got := metric(t, reg, "auditpipe_teleport_errors_total", "method", "search", "code", "Unavailable"); got != 2 {
		t.Fatalf("errors_total{search,Unavailable} = %v, want 2", got)
	}
	if got := metric(t, reg, "auditpipe_teleport_errors_total", "method", "search", "code", "ResourceExhausted"); got != 1 {
		t.Fatalf("errors_total{search,ResourceExhausted} = %v, want 1", got)
	}
	if got := len(logs.records(t, "retrying")); got != 3 {
		t.Fatalf("%d retry warnings, want 3", got)
	}

	// A context that ends while retrying stops the retries.
	if err := s.SetFaults(teleportsim.Faults{UnavailableRate: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = c.Search(ctx, simFrom, simTo, nil, 10, "")
	if took := time.Since(start); err == nil || took > 3*time.Second {
		t.Fatalf("Search with a 600ms context against a failing server = %v after %v", err, took)
	}
	if got := teleportsrc.Classify(err); got != teleportsrc.Retry {
		t.Fatalf("deadline while retrying: %v classified %v, want Retry", err, got)
	}
}

// TestNewWaitsForTeleport starts before the Auth Service answers: New retries with backoff,
// logging each failure, and connects once it serves.
func TestNewWaitsForTeleport(t *testing.T) {
	s, err := teleportsim.NewServer(teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{}), CredentialsDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// s listens but does not serve yet: handshakes time out.
	reg := prometheus.NewRegistry()
	log, logs := newLogger()
	type result struct {
		c   *teleportsrc.Client
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := teleportsrc.New(context.Background(), identityConfig(s, false),
			teleportsrc.WithDialTimeout(300*time.Millisecond), teleportsrc.WithLogger(log), teleportsrc.WithRegisterer(reg))
		done <- result{c, err}
	}()
	logs.waitRecord(t, "Teleport call failed; retrying")
	runSim(t, s)
	var r result
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("New did not return after the server started")
	}
	if r.err != nil {
		t.Fatalf("New = %v", r.err)
	}
	defer func() { _ = r.c.Close() }()
	if got := metric(t, reg, "auditpipe_teleport_errors_total", "method", "connect"); got < 1 {
		t.Fatalf("errors_total{connect} = %v, want >= 1", got)
	}
	logs.waitRecord(t, "Connected to Teleport")
}

// TestNewGivesUpWithItsContext returns the last connection error when ctx ends.
func TestNewGivesUpWithItsContext(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{})})
	cfg := identityConfig(s, false)
	cfg.Addr = testenv.ClosedAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := teleportsrc.New(ctx, cfg, teleportsrc.WithDialTimeout(200*time.Millisecond))
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("New = %v, want the context's error", err)
	}
}

// TestReconnect loses the Auth Service and gets a new one at the same address, with a new CA
// and a re-issued identity (as after a restore or CA rotation): the Client reports the loss,
// reloads the identity, reconnects with the new certificate and reads again.
func TestReconnect(t *testing.T) {
	dir := t.TempDir()
	s1 := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{}), CredentialsDir: dir})
	reg := prometheus.NewRegistry()
	log, logs := newLogger()
	c := newClient(t, identityConfig(s1, true), teleportsrc.WithRegisterer(reg), teleportsrc.WithLogger(log))
	before := c.CertExpiry()

	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	logs.waitRecord(t, "Lost the connection to Teleport")
	if got := metric(t, reg, "auditpipe_teleport_connected"); got != 0 {
		t.Fatalf("connected = %v after the loss, want 0", got)
	}
	if err := c.Ready(context.Background()); !errors.Is(err, teleportsrc.ErrNotConnected) {
		t.Fatalf("Ready = %v while disconnected, want ErrNotConnected", err)
	}

	time.Sleep(1100 * time.Millisecond) // a different NotAfter second for the new identity
	l2 := simLog(t, 20, teleportsim.Options{})
	startSim(t, teleportsim.ServerConfig{Log: l2, CredentialsDir: dir, ListenAddr: s1.Addr()})
	logs.waitRecord(t, "Reconnected to Teleport")
	if got := metric(t, reg, "auditpipe_teleport_reconnects_total"); got != 1 {
		t.Fatalf("reconnects_total = %v, want 1", got)
	}
	if got := metric(t, reg, "auditpipe_teleport_connected"); got != 1 {
		t.Fatalf("connected = %v after reconnecting, want 1", got)
	}
	if !c.CertExpiry().After(before) {
		t.Fatalf("CertExpiry %v, not the new identity's (old %v)", c.CertExpiry(), before)
	}
	page, _, err := c.Search(context.Background(), simFrom, simTo, nil, 100, "")
	if err != nil || len(page) != l2.Len() {
		t.Fatalf("Search on the new server = %d events, %v; want %d", len(page), err, l2.Len())
	}
}

// TestClose ends reads and background work; Close is idempotent.
func TestClose(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{})})
	reg := prometheus.NewRegistry()
	c, err := teleportsrc.New(context.Background(), identityConfig(s, true), teleportsrc.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	_, _, err = c.Search(context.Background(), simFrom, simTo, nil, 10, "")
	if got := teleportsrc.Classify(err); got != teleportsrc.Canceled {
		t.Fatalf("Search after Close: %v classified %v, want Canceled", err, got)
	}
	if got := metric(t, reg, "auditpipe_teleport_connected"); got != 0 {
		t.Fatalf("connected = %v after Close", got)
	}
}
