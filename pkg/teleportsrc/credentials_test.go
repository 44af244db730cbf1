package teleportsrc_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditpipe/auditpipe/pkg/config"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/teleportsrc"
)

// reissue re-issues s's identity with ttl (as tbot renews it) and returns the new certificate's
// NotAfter. It waits a second first, so that the new NotAfter differs from the old one.
func reissue(t testing.TB, s *teleportsim.Server, ttl time.Duration) time.Time {
	t.Helper()
	time.Sleep(1100 * time.Millisecond)
	if err := s.ReissueIdentity(ttl); err != nil {
		t.Fatalf("ReissueIdentity: %v", err)
	}
	return certExpiry(t, s.Credentials().Cert)
}

// waitExpiry waits until c's certificate expiry is want.
func waitExpiry(t testing.TB, c *teleportsrc.Client, want time.Time) {
	t.Helper()
	eventually(t, 10*time.Second, "CertExpiry "+want.String(), func() bool { return c.CertExpiry().Equal(want) })
}

// linkedIdentity returns a [teleport] section whose identity file is a symlink, in a directory
// of its own, to s's identity file: a change of s's file is invisible to a watch on the
// symlink's directory, so only Reload or the interval can pick it up.
func linkedIdentity(t testing.TB, s *teleportsim.Server, interval time.Duration) config.Teleport {
	t.Helper()
	link := filepath.Join(t.TempDir(), "identity")
	if err := os.Symlink(s.Credentials().Identity, link); err != nil {
		t.Fatal(err)
	}
	cfg := identityConfig(s, true)
	cfg.Identity, cfg.Refresh.Interval = link, interval
	return cfg
}

// TestReloadOnFileChange: a re-issued identity file (replaced by rename, as tbot does) is
// picked up by the directory watch, without restart.
func TestReloadOnFileChange(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{})})
	reg := prometheus.NewRegistry()
	log, logs := newLogger()
	c := newClient(t, identityConfig(s, true), teleportsrc.WithRegisterer(reg), teleportsrc.WithLogger(log))

	for range 2 {
		want := reissue(t, s, 48*time.Hour)
		waitExpiry(t, c, want)
		if got := metric(t, reg, "auditpipe_teleport_cert_expiry_timestamp_seconds"); got != float64(want.Unix()) {
			t.Fatalf("cert expiry gauge = %v, want %v", got, want.Unix())
		}
	}
	if rec := logs.waitRecord(t, "Reloaded the Teleport identity file"); rec["reason"] != "file change" {
		t.Fatalf("reload record %v, want reason file change", rec)
	}
	if got := metric(t, reg, "auditpipe_teleport_credential_reloads_total", "result", "ok"); got < 2 {
		t.Fatalf("reloads_total{ok} = %v, want >= 2", got)
	}
	if _, _, err := c.Search(context.Background(), simFrom, simTo, nil, 5, ""); err != nil {
		t.Fatalf("Search after the reload: %v", err)
	}
}

// TestReloadExplicit: Reload (the service's SIGHUP) picks up a change no watch sees.
func TestReloadExplicit(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{})})
	c := newClient(t, linkedIdentity(t, s, time.Hour))
	before := c.CertExpiry()
	want := reissue(t, s, 48*time.Hour)
	time.Sleep(300 * time.Millisecond) // more than the watch's debounce
	if !c.CertExpiry().Equal(before) {
		t.Fatal("the certificate changed before Reload: the test does not isolate Reload")
	}
	if err := c.Reload(); err != nil {
		t.Fatalf("Reload = %v", err)
	}
	if !c.CertExpiry().Equal(want) {
		t.Fatalf("CertExpiry after Reload = %v, want %v", c.CertExpiry(), want)
	}
}

// TestReloadOnInterval: the interval reload picks up a change no watch sees.
func TestReloadOnInterval(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{})})
	c := newClient(t, linkedIdentity(t, s, 200*time.Millisecond))
	waitExpiry(t, c, reissue(t, s, 48*time.Hour))
}

// TestReloadKeepsCertificateOnBadFile: a file that cannot be read is reported and the current
// certificate stays in use, until a good file replaces it.
func TestReloadKeepsCertificateOnBadFile(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{})})
	good, err := os.ReadFile(s.Credentials().Identity)
	if err != nil {
		t.Fatal(err)
	}
	cfg := identityConfig(s, true)
	cfg.Identity = filepath.Join(t.TempDir(), "identity")
	if err := os.WriteFile(cfg.Identity, good, 0o600); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	log, logs := newLogger()
	c := newClient(t, cfg, teleportsrc.WithRegisterer(reg), teleportsrc.WithLogger(log))
	before := c.CertExpiry()

	if err := os.WriteFile(cfg.Identity, []byte("half-written"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs.waitRecord(t, "Cannot reload the Teleport identity file")
	if err := c.Reload(); !errors.Is(err, teleportsrc.ErrCredentials) {
		t.Fatalf("Reload of a bad file = %v, want ErrCredentials", err)
	}
	if got := metric(t, reg, "auditpipe_teleport_credential_reloads_total", "result", "error"); got < 2 {
		t.Fatalf("reloads_total{error} = %v, want >= 2", got)
	}
	if !c.CertExpiry().Equal(before) {
		t.Fatalf("CertExpiry = %v after a failed reload, want %v", c.CertExpiry(), before)
	}
	if _, _, err := c.Search(context.Background(), simFrom, simTo, nil, 5, ""); err != nil {
		t.Fatalf("Search after a failed reload: %v", err)
	}

	want := reissue(t, s, 48*time.Hour)
	renewed, err := os.ReadFile(s.Credentials().Identity)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.Identity, renewed, 0o600); err != nil {
		t.Fatal(err)
	}
	waitExpiry(t, c, want)
}

// TestReloadDisabled: credentials that are not reloaded refuse Reload.
func TestReloadDisabled(t *testing.T) {
	s := startSim(t, teleportsim.ServerConfig{Log: simLog(t, 10, teleportsim.Options{})})
	for name, cfg := range map[string]config.Teleport{
		"identity file without refresh": identityConfig(s, false),
		"key pair":                      keyPairConfig(s),
	} {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, cfg)
			if err := c.Reload(); !errors.Is(err, teleportsrc.ErrReloadDisabled) {
				t.Fatalf("Reload = %v, want ErrReloadDisabled", err)
			}
		})
	}
}
