package teleportsrc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// TestExpiryWarning: a certificate valid for less than 24 h is warned about from the start,
// and a renewed one is not.
func TestExpiryWarning(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{}), IdentityTTL: 2 * time.Hour})
	log, logs := newLogger()
	c := newClient(t, identityConfig(s, true), teleportsrc.WithLogger(log))
	recs := logs.records(t, "expires soon")
	if len(recs) != 1 {
		t.Fatalf("%d expiry warnings at New, want 1", len(recs))
	}
	if got, want := recs[0]["cert_expiry"], c.CertExpiry().Format(time.RFC3339); got != want {
		t.Fatalf("warning names expiry %v, want %v", got, want)
	}
	if c.Expired() {
		t.Fatal("Expired with 2 h left")
	}
	if err := c.Ready(context.Background()); err != nil {
		t.Fatalf("Ready = %v with 2 h left", err)
	}
	waitExpiry(t, c, reissue(t, s, 48*time.Hour))
	time.Sleep(100 * time.Millisecond)
	if got := len(logs.records(t, "expires soon")); got != 1 {
		t.Fatalf("%d expiry warnings after the renewal, want still 1", got)
	}
}

// TestExpired: a certificate that expires while the Client runs is reported by Expired, Ready
// and the log; New refuses one that has already expired.
func TestExpired(t *testing.T) {
	// A certificate's NotAfter is whole seconds: a 3 s lifetime is 2 to 3 s from the issue,
	// which the simulator's start and New must fit in on a loaded machine (they take 0.1 to
	// 0.3 s there; 2 s left as little as 1 s).
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{}), IdentityTTL: 3 * time.Second})
	log, logs := newLogger()
	c := newClient(t, identityConfig(s, false), teleportsrc.WithLogger(log))
	if c.Expired() {
		t.Fatal("Expired at the start")
	}
	time.Sleep(time.Until(c.CertExpiry()))
	eventually(t, 2*time.Second, "Expired", c.Expired)
	if err := c.Ready(context.Background()); !errors.Is(err, teleportsrc.ErrCertExpired) {
		t.Fatalf("Ready = %v, want ErrCertExpired", err)
	}
	logs.waitRecord(t, "certificate has expired")

	// The connection opened with the certificate stays up, but a transient failure now means
	// a reconnection Teleport will refuse: it is Fatal.
	if _, _, err := c.Search(context.Background(), simFrom, simTo, nil, 5, ""); err != nil {
		t.Fatalf("Search on the open connection: %v", err)
	}
	if err := s.SetFaults(teleportsim.Faults{UnavailableNext: 1}); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Search(context.Background(), simFrom, simTo, nil, 5, "")
	if !errors.Is(err, teleportsrc.ErrCertExpired) || teleportsrc.Classify(err) != teleportsrc.Fatal {
		t.Fatalf("Search failing after expiry = %v, want ErrCertExpired (Fatal)", err)
	}

	_, err = teleportsrc.New(context.Background(), identityConfig(s, false))
	if !errors.Is(err, teleportsrc.ErrCertExpired) || teleportsrc.Classify(err) != teleportsrc.Fatal {
		t.Fatalf("New with an expired certificate = %v, want ErrCertExpired (Fatal)", err)
	}
}
